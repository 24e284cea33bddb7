//! [`MetadataView`]: the lookups in this node's metadata that every part of
//! the broker makes, with the broker's errors and the "fresh" rule.

use std::sync::Arc;

use cluster::{Subscription, SubscriptionName, Topic, TopicName};

use crate::broker::error::BrokerError;
use crate::metadata_store::MetadataStore;
use crate::storage::{Epoch, PartitionRef};

/// A shared handle on the node's [`MetadataStore`] with the lookups the
/// broker's parts have in common. Cheap to clone. Changes still go through
/// [`MetadataStore::propose`] ([`MetadataView::store`]).
#[derive(Debug, Clone)]
pub struct MetadataView {
    store: Arc<MetadataStore>,
}

impl MetadataView {
    pub fn new(store: MetadataStore) -> Self {
        Self {
            store: Arc::new(store),
        }
    }

    /// The metadata itself: reads, proposals, barriers, change notifications.
    pub fn store(&self) -> &Arc<MetadataStore> {
        &self.store
    }

    /// Runs a metadata lookup; when it finds nothing, waits until this node
    /// has applied everything committed (a Raft read index) and looks once
    /// more, so a resource just created through another node (a topic, a
    /// subscription, a group member) is found.
    ///
    /// A not-found answer is therefore linearizable. When the read index
    /// cannot be had (no leader, the leader unreachable, this node too far
    /// behind to apply up to it in time), the answer is the consensus error,
    /// `503 UNAVAILABLE`, never a not-found this node cannot vouch for. A
    /// lookup that finds what it looks for costs no round trip.
    pub async fn fresh<T>(
        &self,
        lookup: impl Fn() -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        match lookup() {
            Err(e) if e.is_not_found() => {
                self.store.barrier().await?;
                lookup()
            }
            found => found,
        }
    }

    /// The topic named, asking the leader before answering not found.
    pub async fn find_topic(&self, name: &str) -> Result<Topic, BrokerError> {
        let name = TopicName::new(name)?;
        self.fresh(|| self.topic(&name)).await
    }

    /// The topic as this node knows it now.
    pub fn topic(&self, name: &TopicName) -> Result<Topic, BrokerError> {
        self.store
            .read(|md| md.topic(name).cloned())
            .ok_or_else(|| {
                cluster::MetadataError::TopicNotFound {
                    name: name.to_string(),
                }
                .into()
            })
    }

    /// The subscription as this node knows it now.
    pub fn subscription(&self, name: &SubscriptionName) -> Result<Subscription, BrokerError> {
        self.store
            .read(|md| md.subscription(name).cloned())
            .ok_or_else(|| {
                cluster::MetadataError::SubscriptionNotFound {
                    name: name.to_string(),
                }
                .into()
            })
    }

    /// Every topic and subscription, copied out of the metadata in one read.
    pub fn resources(&self) -> (Vec<Topic>, Vec<Subscription>) {
        self.store.read(|md| {
            (
                md.topics_after(None, usize::MAX)
                    .into_iter()
                    .cloned()
                    .collect(),
                md.subscriptions_after(None, usize::MAX)
                    .into_iter()
                    .cloned()
                    .collect(),
            )
        })
    }

    /// Every push subscription, in name order.
    pub fn push_subscriptions(&self) -> Vec<Subscription> {
        self.store.read(|md| {
            md.subscriptions_after(None, usize::MAX)
                .into_iter()
                .filter(|s| s.config.push.is_some())
                .cloned()
                .collect()
        })
    }

    /// Whether other nodes own partitions (or may): more than one node is registered.
    pub fn multi_node(&self) -> bool {
        self.store
            .read(|md| md.placement().nodes().nth(1).is_some())
    }

    /// The epoch of the partition's current owner (fixed on a single node).
    pub fn partition_epoch(&self, at: &PartitionRef) -> Epoch {
        self.store.read(|md| {
            md.placement()
                .owner(&at.topic, at.partition)
                .map_or(Epoch::SINGLE_NODE, |o| o.epoch)
        })
    }
}

/// Every partition of `topic`, in order.
pub fn partition_refs(topic: &Topic) -> impl Iterator<Item = PartitionRef> + '_ {
    (0..topic.config.partitions).map(|partition| PartitionRef {
        topic: topic.name.clone(),
        partition,
    })
}

//! [`Leftovers`]: storage a committed delete could not remove at once.
//!
//! A topic or subscription delete is committed through the metadata first;
//! from then on it has happened, and the client is answered so. Removing its
//! storage comes after and may fail (storage down, this node cut off): the
//! removal is then kept here and retried by [`Upkeep`](crate::broker::Upkeep)
//! until it succeeds. A leftover is only retried while the metadata (read
//! after a barrier) has no resource of that name, so a retry never removes
//! the storage of one created again under the same name; a create through
//! this node removes the leftover of its name first.
//!
//! Leftovers live in the memory of the node that answered the delete: if it
//! stops before a retry succeeds, the keys stay in Redis until an operator
//! removes them (a name created again reuses them, as before this existed).

use std::sync::{Arc, Mutex};

use cluster::{SubscriptionName, TopicName};

use crate::broker::error::BrokerError;
use crate::broker::metadata_view::MetadataView;
use crate::storage::{Storage, StorageError};

/// Storage of a deleted resource, still to be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leftover {
    Topic {
        name: TopicName,
        partitions: u32,
    },
    Subscription {
        name: SubscriptionName,
        topic: TopicName,
        partitions: u32,
    },
}

/// Removals of deleted resources' storage, tried at once and retried until done.
#[derive(Debug)]
pub struct Leftovers {
    metadata: MetadataView,
    storage: Arc<dyn Storage>,
    pending: Mutex<Vec<Leftover>>,
}

impl Leftovers {
    pub fn new(metadata: MetadataView, storage: Arc<dyn Storage>) -> Self {
        Self {
            metadata,
            storage,
            pending: Mutex::default(),
        }
    }

    /// Removes the storage of a deleted topic, or keeps it for a retry.
    pub async fn topic_deleted(&self, name: TopicName, partitions: u32) {
        self.remove_or_keep(Leftover::Topic { name, partitions })
            .await;
    }

    /// Removes the storage of a deleted subscription, or keeps it for a retry.
    pub async fn subscription_deleted(
        &self,
        name: SubscriptionName,
        topic: TopicName,
        partitions: u32,
    ) {
        self.remove_or_keep(Leftover::Subscription {
            name,
            topic,
            partitions,
        })
        .await;
    }

    /// How many removals are waiting for a retry.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no removal is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Before a topic of this name is created: removes what a delete of that
    /// name left. Fails (nothing created) if that removal fails.
    pub async fn before_topic_create(&self, name: &TopicName) -> Result<(), BrokerError> {
        let mine = self.take(|l| matches!(l, Leftover::Topic { name: n, .. } if n == name));
        self.remove_all_or_keep(mine).await
    }

    /// Before a subscription of this name is created: as
    /// [`Leftovers::before_topic_create`].
    pub async fn before_subscription_create(
        &self,
        name: &SubscriptionName,
    ) -> Result<(), BrokerError> {
        let mine = self.take(|l| matches!(l, Leftover::Subscription { name: n, .. } if n == name));
        self.remove_all_or_keep(mine).await
    }

    /// Retries every waiting removal whose name the metadata still does not
    /// have; forgets those whose name was created again.
    pub async fn retry(&self) {
        let waiting = self.take(|_| true);
        if waiting.is_empty() {
            return;
        }
        if let Err(error) = self.metadata.store().barrier().await {
            tracing::debug!(%error, "storage of deleted resources not retried: no read barrier");
            self.keep(waiting);
            return;
        }
        for leftover in waiting {
            if self.created_again(&leftover) {
                tracing::info!(
                    ?leftover,
                    "not removing a deleted resource's storage: its name was created again"
                );
                continue;
            }
            self.remove_or_keep(leftover).await;
        }
    }

    async fn remove_all_or_keep(&self, leftovers: Vec<Leftover>) -> Result<(), BrokerError> {
        let mut failed = None;
        let mut kept = Vec::new();
        for leftover in leftovers {
            if let Err(error) = self.remove(&leftover).await {
                kept.push(leftover);
                failed.get_or_insert(error);
            }
        }
        self.keep(kept);
        failed.map_or(Ok(()), |e| Err(e.into()))
    }

    async fn remove_or_keep(&self, leftover: Leftover) {
        if let Err(error) = self.remove(&leftover).await {
            tracing::warn!(?leftover, %error, "cannot remove a deleted resource's storage yet; retrying in the background");
            self.keep(vec![leftover]);
        }
    }

    async fn remove(&self, leftover: &Leftover) -> Result<(), StorageError> {
        let removed = match leftover {
            Leftover::Topic { name, partitions } => {
                self.storage.delete_topic(name, *partitions).await
            }
            Leftover::Subscription {
                name,
                topic,
                partitions,
            } => {
                self.storage
                    .delete_subscription(name, topic, *partitions)
                    .await
            }
        };
        match removed {
            // Removed already, by this node or another.
            Err(StorageError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    fn created_again(&self, leftover: &Leftover) -> bool {
        self.metadata.store().read(|md| match leftover {
            Leftover::Topic { name, .. } => md.topic(name).is_some(),
            Leftover::Subscription { name, topic, .. } => {
                md.subscription(name).is_some() || md.topic(topic).is_none()
            }
        })
    }

    fn take(&self, which: impl Fn(&Leftover) -> bool) -> Vec<Leftover> {
        let mut pending = self.lock();
        let (taken, kept) = std::mem::take(&mut *pending).into_iter().partition(which);
        *pending = kept;
        taken
    }

    fn keep(&self, leftovers: Vec<Leftover>) {
        let mut pending = self.lock();
        for leftover in leftovers {
            if !pending.contains(&leftover) {
                pending.push(leftover);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Leftover>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

//! [`SyncPatch`]: what storage sync must bring this node's storage to, for
//! the topics, subscriptions and partitions an applied metadata change
//! touched (or for everything, on a first look or after a snapshot).

use std::collections::{BTreeMap, BTreeSet};

use cluster::subscription::StartPosition;
use cluster::{Metadata, NodeId, SubscriptionName, TopicName, Touched};
use raft::AppliedView;

use crate::storage::{Epoch, PartitionRef};

/// A topic as storage knows it: partitions and creation time (a topic
/// created again under its name differs).
pub(super) type TopicState = (u32, u64);

/// A subscription as storage knows it: its topic and creation time.
pub(super) type SubscriptionState = (TopicName, u64);

/// A subscription as the metadata has it, with what creating it needs.
#[derive(Debug, Clone)]
pub(super) struct SubscriptionNow {
    pub topic: TopicName,
    pub created: u64,
    pub start: StartPosition,
    /// Its topic's partitions (0 if the topic is gone).
    pub partitions: u32,
}

/// The new state of everything looked at; `None` is "no longer exists" (or,
/// for a partition, "not owned by this node").
#[derive(Debug, Default)]
pub(super) struct SyncPatch {
    /// The applied index the patch brings storage to.
    pub applied: u64,
    pub topics: BTreeMap<TopicName, Option<TopicState>>,
    pub subscriptions: BTreeMap<SubscriptionName, Option<SubscriptionNow>>,
    pub owned: BTreeMap<PartitionRef, Option<Epoch>>,
    /// Topics, subscriptions and partitions looked at to make it.
    pub items: u64,
}

/// What storage was last given, for the keys a full patch must clear.
pub(super) struct Known<'a> {
    pub topics: &'a BTreeMap<TopicName, TopicState>,
    pub subscriptions: &'a BTreeMap<SubscriptionName, SubscriptionState>,
    pub owned: &'a BTreeMap<PartitionRef, Epoch>,
}

impl SyncPatch {
    /// The patch for `view`, as node `me`: only what changed when the view
    /// knows it, everything otherwise.
    pub(super) fn read(view: AppliedView<'_>, me: NodeId, known: &Known<'_>) -> Self {
        let mut patch = Self {
            applied: view.applied,
            ..Self::default()
        };
        match view.changed {
            Some(changed) => patch.read_touched(view.metadata, me, &changed, known),
            None => patch.read_everything(view.metadata, me, known),
        }
        patch
    }

    fn read_everything(&mut self, md: &Metadata, me: NodeId, known: &Known<'_>) {
        for name in known.topics.keys() {
            self.topics.insert(name.clone(), None);
        }
        for name in known.subscriptions.keys() {
            self.subscriptions.insert(name.clone(), None);
        }
        for at in known.owned.keys() {
            self.owned.insert(at.clone(), None);
        }
        for topic in md.topics_after(None, usize::MAX) {
            self.topics.insert(
                topic.name.clone(),
                Some((topic.config.partitions, topic.created_at_millis)),
            );
        }
        for subscription in md.subscriptions_after(None, usize::MAX) {
            self.subscriptions.insert(
                subscription.name.clone(),
                subscription_now(md, &subscription.name),
            );
        }
        for (topic, owners) in md.placement().owners() {
            self.items += owners.len() as u64;
            for (partition, owner) in owners.iter().enumerate() {
                if let Some(owner) = owner.filter(|o| o.node == me) {
                    let at = PartitionRef {
                        topic: topic.clone(),
                        partition: partition as u32,
                    };
                    self.owned.insert(at, Some(owner.epoch));
                }
            }
        }
        self.items += (self.topics.len() + self.subscriptions.len()) as u64;
    }

    fn read_touched(&mut self, md: &Metadata, me: NodeId, changed: &[Touched], known: &Known<'_>) {
        let mut topics = BTreeSet::new();
        let mut subscriptions = BTreeSet::new();
        let mut partitions = BTreeSet::new();
        for touched in changed {
            topics.extend(touched.topics.iter().cloned());
            subscriptions.extend(touched.subscriptions.iter().cloned());
            partitions.extend(touched.partitions.iter().cloned());
        }
        for topic in topics {
            let now = md
                .topic(&topic)
                .map(|t| (t.config.partitions, t.created_at_millis));
            // Every partition of the topic, as it was and as it is.
            let was = known.topics.get(&topic).map_or(0, |(p, _)| *p);
            let count = now.map_or(0, |(p, _)| p).max(was);
            partitions.extend((0..count).map(|p| (topic.clone(), p)));
            self.topics.insert(topic, now);
            self.items += 1;
        }
        for name in subscriptions {
            self.subscriptions
                .insert(name.clone(), subscription_now(md, &name));
            self.items += 1;
        }
        let placement = md.placement();
        for (topic, partition) in partitions {
            let owner = placement
                .owner(&topic, partition)
                .filter(|o| o.node == me)
                .map(|o| o.epoch);
            self.owned.insert(PartitionRef { topic, partition }, owner);
            self.items += 1;
        }
    }
}

fn subscription_now(md: &Metadata, name: &SubscriptionName) -> Option<SubscriptionNow> {
    let subscription = md.subscription(name)?;
    let topic = subscription.config.topic.clone();
    Some(SubscriptionNow {
        partitions: md.topic(&topic).map_or(0, |t| t.config.partitions),
        topic,
        created: subscription.created_at_millis,
        start: subscription.config.start_position,
    })
}

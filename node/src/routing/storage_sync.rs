//! [`StorageSync`]: this node's storage follows the metadata.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cluster::{SubscriptionName, TopicName};
use raft::Consensus;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

use crate::storage::{AppendOptions, Epoch, FencedStorage, PartitionRef, StorageError};

/// Creates in this node's storage every topic and subscription the metadata
/// knows (creates are idempotent), tells storage about partitions whose
/// ownership left this node so it drops cached state for them, and claims the
/// epoch of partitions it gained (fencing the previous owner at once).
///
/// Deletes are different by backend: Redis is shared, so the node that served
/// the delete already removed the keys, and another node deleting later could
/// remove a topic created again under the same name; memory storage is per
/// node, so each node drops what the metadata no longer has
/// (`drop_deleted`).
#[derive(Debug)]
pub struct StorageSync {
    consensus: Consensus,
    local: Arc<dyn FencedStorage>,
    drop_deleted: bool,
    state: Mutex<Synced>,
    /// The applied metadata index, watched once rather than per call.
    applied: watch::Receiver<u64>,
    /// One past the applied index storage was last brought up to (0: never),
    /// read without the lock on every call.
    synced: AtomicU64,
}

/// What this node's storage was last given.
#[derive(Debug, Default)]
struct Synced {
    /// The applied index the rest reflects; `None` before the first sync.
    version: Option<u64>,
    /// Topic → (partitions, creation time): a re-created topic differs.
    topics: BTreeMap<TopicName, (u32, u64)>,
    subscriptions: BTreeMap<SubscriptionName, (TopicName, u64)>,
    /// Partitions this node owns, with their epochs.
    owned: BTreeMap<PartitionRef, Epoch>,
}

impl StorageSync {
    pub fn new(consensus: Consensus, local: Arc<dyn FencedStorage>, drop_deleted: bool) -> Self {
        Self {
            applied: consensus.changes(),
            consensus,
            local,
            drop_deleted,
            state: Mutex::default(),
            synced: AtomicU64::new(0),
        }
    }

    /// The metadata log index this node has applied.
    pub fn applied_index(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Brings storage up to the applied metadata. Cheap when nothing changed.
    pub async fn sync(&self) -> Result<(), StorageError> {
        let version = self.applied_index();
        if self.synced.load(Ordering::Acquire) == version + 1 {
            return Ok(());
        }
        let mut state = self.state.lock().await;
        if state.version == Some(version) {
            return Ok(());
        }
        let me = self.consensus.node_id();
        let (topics, subscriptions, owned) = self.consensus.read_local(|md| {
            let topics: BTreeMap<TopicName, (u32, u64)> = md
                .topics_after(None, usize::MAX)
                .into_iter()
                .map(|t| (t.name.clone(), (t.config.partitions, t.created_at_millis)))
                .collect();
            let subscriptions: BTreeMap<SubscriptionName, (TopicName, u64, _)> = md
                .subscriptions_after(None, usize::MAX)
                .into_iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        (
                            s.config.topic.clone(),
                            s.created_at_millis,
                            s.config.start_position,
                        ),
                    )
                })
                .collect();
            let owned: BTreeMap<PartitionRef, Epoch> = md
                .placement()
                .owned_by(me)
                .map(|(topic, partition, epoch)| {
                    let at = PartitionRef {
                        topic: topic.clone(),
                        partition,
                    };
                    (at, epoch)
                })
                .collect();
            (topics, subscriptions, owned)
        });

        if self.drop_deleted {
            for (name, (topic, created)) in &state.subscriptions {
                if subscriptions.get(name).map(|(t, c, _)| (t, *c)) != Some((topic, *created))
                    && let Some((partitions, _)) = state.topics.get(topic)
                {
                    self.local
                        .delete_subscription(name, topic, *partitions)
                        .await?;
                }
            }
            for (name, (partitions, created)) in &state.topics {
                if topics.get(name).map(|(_, c)| *c) != Some(*created) {
                    self.local.delete_topic(name, *partitions).await?;
                }
            }
        }
        for (name, (partitions, created)) in &topics {
            if state.topics.get(name) != Some(&(*partitions, *created)) {
                self.local.create_topic(name, *partitions).await?;
            }
        }
        for (name, (topic, created, start)) in &subscriptions {
            if state.subscriptions.get(name) != Some(&(topic.clone(), *created)) {
                let partitions = topics.get(topic).map_or(0, |(p, _)| *p);
                self.local
                    .create_subscription(name, topic, partitions, *start)
                    .await?;
            }
        }
        // Cached state of a partition is stale once its ownership changed at
        // all (lost, or lost and regained between two syncs), and so is a
        // subscription's that was deleted or created again under its name.
        let renewed: Vec<&TopicName> = state
            .subscriptions
            .iter()
            .filter(|(name, (_, created))| {
                subscriptions.get(*name).map(|(_, c, _)| *c) != Some(*created)
            })
            .map(|(_, (topic, _))| topic)
            .collect();
        for (at, epoch) in &state.owned {
            if owned.get(at) != Some(epoch) || renewed.contains(&&at.topic) {
                self.local.release_partition(at).await;
            }
        }
        let mut unclaimed = Vec::new();
        let claim = AppendOptions::plain(self.local.ack_level());
        for (gained, &epoch) in owned.iter().filter(|(p, e)| state.owned.get(p) != Some(e)) {
            // An empty append raises the partition's epoch in storage now, so
            // the previous owner is fenced before this node's first write.
            if let Err(e) = self
                .local
                .append_fenced(gained, epoch, Vec::new(), &claim)
                .await
            {
                tracing::warn!(topic = %gained.topic, partition = gained.partition, error = %e, "cannot claim a partition's epoch; retrying");
                unclaimed.push(gained.clone());
            }
        }
        let claimed_all = unclaimed.is_empty();
        if claimed_all {
            self.synced.store(version + 1, Ordering::Release);
        }
        let mut owned = owned;
        for at in &unclaimed {
            owned.remove(at);
        }
        *state = Synced {
            // A failed claim is tried again on the next call.
            version: claimed_all.then_some(version),
            topics,
            subscriptions: subscriptions
                .into_iter()
                .map(|(name, (topic, created, _))| (name, (topic, created)))
                .collect(),
            owned,
        };
        Ok(())
    }

    /// Syncs after every applied metadata change until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut changes = self.consensus.changes();
        loop {
            changes.mark_unchanged();
            if let Err(e) = self.sync().await {
                tracing::warn!(error = %e, "cannot bring storage up to the metadata; retrying");
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                    () = shutdown.cancelled() => return,
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = shutdown.cancelled() => return,
            }
        }
    }
}

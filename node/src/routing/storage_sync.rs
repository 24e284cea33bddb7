//! [`StorageSync`]: this node's storage follows the metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cluster::{SubscriptionName, TopicName};
use prometheus_client::metrics::counter::Counter;
use raft::Consensus;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

use super::sync_patch::{Known, SubscriptionState, SyncPatch, TopicState};
use crate::storage::{AppendOptions, Epoch, FencedStorage, PartitionRef, StorageError};

/// Creates in this node's storage every topic and subscription the metadata
/// knows (creates are idempotent), tells storage about partitions whose
/// ownership left this node, and about subscriptions deleted or created again,
/// so it drops cached state for them, and claims the
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
    /// Counts the topics, subscriptions and partitions each sync looked at
    /// (`pubsubgo_metadata_sync_items_total`).
    items: Counter,
}

/// What this node's storage was last given.
#[derive(Debug, Default)]
struct Synced {
    /// The applied index the rest reflects; `None` before the first sync.
    version: Option<u64>,
    /// Topic → (partitions, creation time): a re-created topic differs.
    topics: BTreeMap<TopicName, TopicState>,
    subscriptions: BTreeMap<SubscriptionName, SubscriptionState>,
    /// Partitions this node owns, with their epochs.
    owned: BTreeMap<PartitionRef, Epoch>,
}

impl StorageSync {
    /// Follows `consensus` into `local`, counting its work in `items`.
    pub fn new(
        consensus: Consensus,
        local: Arc<dyn FencedStorage>,
        drop_deleted: bool,
        items: Counter,
    ) -> Self {
        Self {
            applied: consensus.changes(),
            consensus,
            local,
            drop_deleted,
            state: Mutex::default(),
            synced: AtomicU64::new(0),
            items,
        }
    }

    /// The metadata log index this node has applied.
    pub fn applied_index(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Whether storage already has everything the applied metadata names, so
    /// [`StorageSync::sync`] has nothing to do.
    pub fn is_current(&self) -> bool {
        self.synced.load(Ordering::Acquire) == self.applied_index() + 1
    }

    /// Brings storage up to the applied metadata. Cheap when nothing changed;
    /// otherwise the work is proportional to what the applied changes since
    /// the last sync touched ([`cluster::Touched`]), or to the whole metadata
    /// on the first sync, after a snapshot, or after a failed claim.
    pub async fn sync(&self) -> Result<(), StorageError> {
        if self.is_current() {
            return Ok(());
        }
        let version = self.applied_index();
        let mut state = self.state.lock().await;
        if state.version == Some(version) {
            return Ok(());
        }
        let me = self.consensus.node_id();
        let patch = {
            let known = Known {
                topics: &state.topics,
                subscriptions: &state.subscriptions,
                owned: &state.owned,
            };
            self.consensus
                .read_changes(state.version, |view| SyncPatch::read(view, me, &known))
        };
        self.items.inc_by(patch.items);
        let claimed_all = self.apply(&state, &patch).await?;
        let Synced {
            topics,
            subscriptions,
            owned,
            version: last,
        } = &mut *state;
        for (name, now) in patch.topics {
            match now {
                Some(now) => topics.insert(name, now),
                None => topics.remove(&name),
            };
        }
        for (name, now) in patch.subscriptions {
            match now {
                Some(now) => subscriptions.insert(name, (now.topic, now.created)),
                None => subscriptions.remove(&name),
            };
        }
        for (at, now) in patch.owned {
            match now {
                Some(epoch) if !claimed_all.contains(&at) => owned.insert(at, epoch),
                _ => owned.remove(&at),
            };
        }
        // A failed claim is tried again on the next call, which reads
        // everything.
        if claimed_all.is_empty() {
            *last = Some(patch.applied);
            self.synced.store(patch.applied + 1, Ordering::Release);
        } else {
            *last = None;
        }
        Ok(())
    }

    /// Applies `patch` to storage, given what storage was last given;
    /// returns the gained partitions whose epoch could not be claimed.
    async fn apply(
        &self,
        state: &Synced,
        patch: &SyncPatch,
    ) -> Result<BTreeSet<PartitionRef>, StorageError> {
        if self.drop_deleted {
            for (name, now) in &patch.subscriptions {
                if let Some((topic, created)) = state.subscriptions.get(name)
                    && now.as_ref().map(|n| (&n.topic, n.created)) != Some((topic, *created))
                    && let Some((partitions, _)) = state.topics.get(topic)
                {
                    self.local
                        .delete_subscription(name, topic, *partitions)
                        .await?;
                }
            }
            for (name, now) in &patch.topics {
                if let Some((partitions, created)) = state.topics.get(name)
                    && now.map(|(_, c)| c) != Some(*created)
                {
                    self.local.delete_topic(name, *partitions).await?;
                }
            }
        }
        for (name, now) in &patch.topics {
            if let Some(now) = now
                && state.topics.get(name) != Some(now)
            {
                self.local.create_topic(name, now.0).await?;
            }
        }
        for (name, now) in &patch.subscriptions {
            if let Some(now) = now
                && state.subscriptions.get(name) != Some(&(now.topic.clone(), now.created))
            {
                self.local
                    .create_subscription(name, &now.topic, now.partitions, now.start)
                    .await?;
            }
        }
        // A subscription's cached state is stale once it was deleted or
        // created again under its name; the topic's other subscriptions keep
        // theirs (and the leases they hold in memory).
        for (name, now) in &patch.subscriptions {
            if let Some((topic, created)) = state.subscriptions.get(name)
                && now.as_ref().map(|n| n.created) != Some(*created)
            {
                for (at, _) in owned_of(&state.owned, topic) {
                    self.local.release_subscription(name, at).await;
                }
            }
        }
        // A partition's is stale once its ownership changed at all (lost, or
        // lost and regained between two syncs).
        for (at, now) in &patch.owned {
            if let Some(epoch) = state.owned.get(at)
                && now.as_ref() != Some(epoch)
            {
                self.local.release_partition(at).await;
            }
        }
        let mut unclaimed = BTreeSet::new();
        let claim = AppendOptions::plain(self.local.ack_level());
        for (gained, epoch) in &patch.owned {
            let Some(epoch) = epoch else { continue };
            if state.owned.get(gained) == Some(epoch) {
                continue;
            }
            // An empty append raises the partition's epoch in storage now, so
            // the previous owner is fenced before this node's first write.
            if let Err(e) = self
                .local
                .append_fenced(gained, *epoch, Vec::new(), &claim)
                .await
            {
                tracing::warn!(topic = %gained.topic, partition = gained.partition, error = %e, "cannot claim a partition's epoch; retrying");
                unclaimed.insert(gained.clone());
            }
        }
        Ok(unclaimed)
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

/// The partitions of `topic` in `owned`.
fn owned_of<'a>(
    owned: &'a BTreeMap<PartitionRef, Epoch>,
    topic: &TopicName,
) -> impl Iterator<Item = (&'a PartitionRef, &'a Epoch)> {
    let from = PartitionRef {
        topic: topic.clone(),
        partition: 0,
    };
    let topic = topic.clone();
    owned
        .range(from..)
        .take_while(move |(at, _)| at.topic == topic)
}

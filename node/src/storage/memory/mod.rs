//! In-memory storage: fast, and gone when the process exits (ack level `memory`).
//!
//! Each partition sits behind its own mutex, holding its log, its owner epoch and
//! every subscription's cursor (the shared delivery state machine, untracked
//! here) on it, so one lock covers a whole lease or ack step and partitions never
//! contend with each other.
//!
//! # Memory
//! What the partitions hold is counted in the node's [`MemoryBudget`] (use
//! `stored_messages`): each message's payload plus
//! [`MESSAGE_OVERHEAD_BYTES`], each cursor entry [`CURSOR_ENTRY_BYTES`], each
//! remembered idempotency key [`DEDUP_ENTRY_BYTES`]. Every call measures its
//! partition before and after, so appends, trims and deletes all count.
//!
//! While the budget is at or above its low watermark, each call also releases
//! its partition's messages that every subscription has acknowledged (below
//! the lowest `acked_below` of its cursors): they could only be read again by
//! a seek back, or by a subscription created later from the earliest, and
//! dropping them is what lets a drained backlog clear the memory alarm. A
//! partition without subscriptions keeps its messages (only retention
//! trims them).

mod partition_log;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::subscription::StartPosition;
use cluster::{Discard, Retention, SubscriptionName, TopicName};

use self::partition_log::PartitionLog;
use super::cursor::{Cursor, LogView};
use super::cursor_store::{CursorStore, Reads};
use super::{
    AppendOptions, Epoch, FencedLog, LeaseOutcome, LeaseRequest, MessageLog, NewMessage,
    PartitionOffsets, PartitionRef, SeekTarget, StorageError, StoredMessage,
};
use crate::overload::budget::{MemoryBudget, MemoryUse};

#[derive(Debug, Default)]
struct Partition {
    log: PartitionLog,
    epoch: Epoch,
    cursors: HashMap<SubscriptionName, Cursor>,
    /// Idempotency key → (first offset, count, expiry in Unix ms) of the
    /// batch appended under it, for the topic's dedup window.
    dedup: HashMap<String, (u64, usize, u64)>,
}

/// Estimated bytes of one stored message beyond its payload: the
/// `StoredMessage` with its `Arc`, the log's slot, allocator headers and
/// slack (measured: 1 KiB messages cost about 1.3 KiB of resident memory each).
pub const MESSAGE_OVERHEAD_BYTES: u64 = 256;
/// Estimated bytes of one cursor entry (a lease, a pending redelivery, a dead
/// letter, an ack above the floor): a B-tree slot and its value.
pub const CURSOR_ENTRY_BYTES: u64 = 96;
/// Estimated bytes of one remembered idempotency key.
pub const DEDUP_ENTRY_BYTES: u64 = 160;

impl Partition {
    /// What this partition holds, as the memory budget counts it.
    fn footprint(&self) -> u64 {
        let offsets = self.log.offsets();
        let entries: usize = self.cursors.values().map(Cursor::entries).sum();
        self.log.bytes_retained()
            + (offsets.end - offsets.start) * MESSAGE_OVERHEAD_BYTES
            + entries as u64 * CURSOR_ENTRY_BYTES
            + self.dedup.len() as u64 * DEDUP_ENTRY_BYTES
    }

    /// Drops the messages every subscription has acknowledged.
    fn release_acked(&mut self) {
        if let Some(floor) = self.cursors.values().map(Cursor::acked_below).min() {
            self.log.release_below(floor);
        }
    }

    /// Refuses a write with an epoch older than the partition's (a stale owner).
    fn fence(&self, at: &PartitionRef, epoch: Epoch) -> Result<(), StorageError> {
        if epoch < self.epoch {
            return Err(StorageError::Fenced {
                topic: at.topic.to_string(),
                partition: at.partition,
                attempted: epoch,
                current: self.epoch,
            });
        }
        Ok(())
    }

    /// Appends under the size bounds of `retention` (see
    /// [`AppendOptions::retention`]).
    fn append_bounded(
        &mut self,
        at: &PartitionRef,
        messages: Vec<NewMessage>,
        retention: &Retention,
    ) -> Result<Vec<u64>, StorageError> {
        if retention.discard == Discard::New
            && let Some(bound) = self.log.bound_passed_by(&messages, retention)
        {
            return Err(StorageError::PartitionFull {
                topic: at.topic.to_string(),
                partition: at.partition,
                bound,
            });
        }
        let offsets = self.log.append(messages);
        if retention.discard == Discard::Old && retention.bounds_size() {
            let sizes_only = Retention {
                max_age_millis: None,
                ..*retention
            };
            self.log.trim(&sizes_only, 0);
        }
        Ok(offsets)
    }
}

/// Expired idempotency keys are dropped once a partition holds this many.
const DEDUP_SWEEP_AT: usize = 1024;

#[derive(Debug)]
struct MemoryTopic {
    partitions: Vec<Mutex<Partition>>,
}

/// Messages and subscription state in this process's memory.
#[derive(Debug)]
pub struct MemoryStorage {
    topics: RwLock<HashMap<TopicName, Arc<MemoryTopic>>>,
    memory: Arc<MemoryBudget>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStorage {
    /// Storage bounded by nothing but retention.
    pub fn new() -> Self {
        Self::within(MemoryBudget::unbounded())
    }

    /// Storage that counts what it holds in `memory` and releases acked
    /// messages when it is short (see the module doc).
    pub fn within(memory: Arc<MemoryBudget>) -> Self {
        Self {
            topics: RwLock::default(),
            memory,
        }
    }

    /// Runs `step` on a locked partition and counts what it changed.
    fn measured<T>(&self, partition: &mut Partition, step: impl FnOnce(&mut Partition) -> T) -> T {
        let before = partition.footprint();
        let result = step(partition);
        if self.memory.shedding() {
            partition.release_acked();
        }
        let after = partition.footprint();
        if after > before {
            self.memory.add(MemoryUse::StoredMessages, after - before);
        } else {
            self.memory.sub(MemoryUse::StoredMessages, before - after);
        }
        result
    }

    fn topic(&self, name: &TopicName) -> Result<Arc<MemoryTopic>, StorageError> {
        self.topics
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| StorageError::NotFound {
                what: format!("topic {name}"),
            })
    }

    /// Runs `f` with the partition locked.
    fn with_partition<T>(
        &self,
        at: &PartitionRef,
        f: impl FnOnce(&mut Partition) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let topic = self.topic(&at.topic)?;
        let cell =
            topic
                .partitions
                .get(at.partition as usize)
                .ok_or_else(|| StorageError::NotFound {
                    what: format!("partition {} of topic {}", at.partition, at.topic),
                })?;
        self.measured(&mut lock(cell), f)
    }
}

/// Locks a partition. A panic while holding the lock cannot leave a partition
/// half-updated in a way later calls would misread (each step either completes
/// or unwinds before mutating), so poisoning is ignored.
fn lock(cell: &Mutex<Partition>) -> MutexGuard<'_, Partition> {
    cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl MessageLog for MemoryStorage {
    fn ack_level(&self) -> AckLevel {
        AckLevel::Memory
    }

    /// Memory reaches `memory` only. Compression is ignored: payloads stay
    /// uncompressed in the process's memory.
    async fn check_options(
        &self,
        _topic: &TopicName,
        _partitions: u32,
        options: &AppendOptions,
    ) -> Result<(), StorageError> {
        match options.ack_level {
            AckLevel::Memory => Ok(()),
            other => Err(StorageError::Unsupported {
                reason: format!(
                    "ackLevel {other} needs Redis storage; memory storage only acknowledges at memory"
                ),
            }),
        }
    }

    /// On its own, memory storage is a single node's: it writes every
    /// partition at [`Epoch::SINGLE_NODE`].
    async fn append_with(
        &self,
        at: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        self.append_fenced(at, Epoch::SINGLE_NODE, messages, options)
            .await
    }

    async fn create_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        let memory_topic = MemoryTopic {
            partitions: (0..partitions).map(|_| Mutex::default()).collect(),
        };
        self.topics
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(topic.clone())
            .or_insert_with(|| Arc::new(memory_topic));
        Ok(())
    }

    async fn delete_topic(&self, topic: &TopicName, _partitions: u32) -> Result<(), StorageError> {
        let removed = self
            .topics
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(topic);
        let held: u64 = removed
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|cell| lock(cell).footprint())
            .sum();
        self.memory.sub(MemoryUse::StoredMessages, held);
        Ok(())
    }

    async fn read(
        &self,
        at: &PartitionRef,
        from: u64,
        max: usize,
    ) -> Result<Vec<Arc<StoredMessage>>, StorageError> {
        self.with_partition(at, |p| Ok(p.log.read(from, max)))
    }

    async fn offsets(&self, at: &PartitionRef) -> Result<PartitionOffsets, StorageError> {
        self.with_partition(at, |p| Ok(p.log.offsets()))
    }

    async fn trim(
        &self,
        at: &PartitionRef,
        retention: &Retention,
        now_millis: u64,
    ) -> Result<u64, StorageError> {
        self.with_partition(at, |p| Ok(p.log.trim(retention, now_millis).0))
    }
}

#[async_trait]
impl FencedLog for MemoryStorage {
    /// With an idempotency key, a batch appended under the same key within
    /// the window is not appended again: its offsets are returned (as Redis
    /// does), so a retry through another node, whose broker has not seen the
    /// key, stores nothing new. The window is measured in the messages'
    /// publish time.
    async fn append_fenced(
        &self,
        at: &PartitionRef,
        epoch: Epoch,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        let Some(idempotent) = &options.idempotency else {
            return self.with_partition(at, |p| {
                p.fence(at, epoch)?;
                let offsets = p.append_bounded(at, messages, &options.retention)?;
                p.epoch = epoch;
                Ok(offsets)
            });
        };
        let now = messages.first().map_or(0, |m| m.publish_time_millis);
        self.with_partition(at, |p| {
            p.fence(at, epoch)?;
            if let Some(&(first, count, expires)) = p.dedup.get(&idempotent.key)
                && expires > now
            {
                return Ok((first..first + count as u64).collect());
            }
            let count = messages.len();
            let offsets = p.append_bounded(at, messages, &options.retention)?;
            p.epoch = epoch;
            let first = offsets.first().copied().unwrap_or(0);
            if p.dedup.len() >= DEDUP_SWEEP_AT {
                p.dedup.retain(|_, &mut (_, _, expires)| expires > now);
            }
            p.dedup.insert(
                idempotent.key.clone(),
                (first, count, now + idempotent.ttl_millis),
            );
            Ok(offsets)
        })
    }
}

#[async_trait]
impl CursorStore for MemoryStorage {
    /// The whole log is in memory: `reads` needs no fetching.
    async fn with_cursor<T: Send>(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        _reads: Reads<'_>,
        step: impl for<'c, 'l> FnOnce(&'c mut Cursor, &'l dyn LogView) -> T + Send,
    ) -> Result<T, StorageError> {
        self.with_partition(at, |p| {
            let cursor = p
                .cursors
                .get_mut(subscription)
                .ok_or_else(|| StorageError::NotFound {
                    what: format!("subscription {subscription}"),
                })?;
            Ok(step(cursor, &p.log))
        })
    }

    async fn lease_cursor(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, log| {
            cursor.lease(log, request)
        })
        .await
    }

    async fn seek_offset(
        &self,
        at: &PartitionRef,
        target: SeekTarget,
    ) -> Result<u64, StorageError> {
        self.with_partition(at, |p| Ok(p.log.seek_offset(target)))
    }

    async fn create_cursors(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError> {
        for partition in 0..partitions {
            let at = PartitionRef {
                topic: topic.clone(),
                partition,
            };
            self.with_partition(&at, |p| {
                let first = match start {
                    StartPosition::Latest => p.log.end(),
                    StartPosition::Earliest => p.log.start(),
                };
                p.cursors
                    .entry(subscription.clone())
                    .or_insert_with(|| Cursor::new(first));
                Ok(())
            })?;
        }
        Ok(())
    }

    async fn delete_cursors(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        _partitions: u32,
    ) -> Result<(), StorageError> {
        let Ok(memory_topic) = self.topic(topic) else {
            return Ok(());
        };
        for cell in &memory_topic.partitions {
            self.measured(&mut lock(cell), |p| p.cursors.remove(subscription));
        }
        Ok(())
    }

    /// The cursors live only here: nothing apart from the truth to forget.
    async fn release_cursors(&self, _at: &PartitionRef) {}

    /// As `release_cursors`.
    async fn release_cursor(&self, _subscription: &SubscriptionName, _at: &PartitionRef) {}
}

#[cfg(test)]
mod tests {
    use super::MemoryStorage;

    crate::storage::conformance::suite!(MemoryStorage::new());

    /// Memory storage keeps one `Arc<StoredMessage>` per message: its size is
    /// most of the overhead above the payload (BENCHMARKS.md, memory target).
    #[test]
    fn a_stored_message_stays_small() {
        let size = std::mem::size_of::<crate::storage::StoredMessage>();
        assert!(size <= 120, "StoredMessage grew to {size} bytes");
    }
}

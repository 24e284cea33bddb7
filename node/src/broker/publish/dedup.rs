//! [`IdempotencyCache`]: publish deduplication by `Idempotency-Key`, in this
//! process, within a memory bound.
//!
//! A key is remembered per topic for the topic's dedup window, together with a
//! fingerprint of the request body and the answer. A retry with the same key and
//! body gets the stored answer (`deduplicated: true`) and stores nothing; the
//! same key with another body is refused (`IDEMPOTENCY_KEY_REUSED`); a retry
//! while the first request is still running is told to retry later
//! (`IDEMPOTENCY_KEY_IN_USE`). Entries live in this process only.
//!
//! # The bound, and what happens at it
//! The cache holds at most [`MAX_IDEMPOTENCY_CACHE_BYTES`] (estimated heap
//! bytes of keys, topic names and stored answers; an answer's size grows
//! with its message count, so a count of keys would bound nothing).
//!
//! - Past the bound, **completed** entries are evicted, those closest to the
//!   end of their dedup window first, until the cache fits again
//!   (`pubsubgo_idempotency_cache_evictions_total`). This is safe because the
//!   cache is not the only record of a key: every idempotent append also
//!   leaves the key in storage beside the partition, for the same dedup
//!   window (memory storage in the partition; Redis `…:{t:p}:dedup:<key>`, set
//!   in the same script as the append; routed storage carries the key to the
//!   owner), and a publish with a key always reaches the same partitions (its
//!   unkeyed messages follow the key's hash). So a retry of an evicted key
//!   still stores nothing new and gets the original partitions and offsets,
//!   exactly as a retry after a restart or through another node of a cluster
//!   does today. What such a retry loses is what only this cache knows: the
//!   answer says `deduplicated: false`, and a reuse of the key with a
//!   *different* body is no longer refused with `IDEMPOTENCY_KEY_REUSED`.
//! - **In-progress** entries are never evicted: they are what makes a retry
//!   during the first attempt wait instead of racing it. When in-progress
//!   entries alone fill the cache (hundreds of thousands of keyed publishes
//!   in flight at once), a new keyed publish is refused with `429
//!   RESOURCE_EXHAUSTED` and `Retry-After`, storing nothing
//!   (`pubsubgo_idempotency_cache_refusals_total`); a retry succeeds once
//!   in-flight publishes finish.
//!
//! `pubsubgo_idempotency_cache_entries` and `pubsubgo_idempotency_cache_bytes`
//! show how full it is; its bytes count in the node's accounted memory too
//! (`crate::overload`, use `idempotency_keys`).

use std::collections::{BTreeMap, HashMap};
use std::mem::size_of;
use std::sync::{Arc, Mutex, MutexGuard};

use api::types::PublishResponse;
use cluster::TopicName;

use crate::overload::budget::{MemoryBudget, MemoryUse};
use crate::telemetry::Metrics;

/// Most estimated bytes the cache holds: room for about a million keys of
/// single-message publishes, or all keys of a 10-minute dedup window (the
/// default) at about 1,500 keyed publishes per second. Keys past it are
/// answered by storage (see the module doc).
pub const MAX_IDEMPOTENCY_CACHE_BYTES: usize = 256 * 1024 * 1024;

/// Bytes counted for every entry beyond its strings and answer: the slot in
/// the map and in the expiry index, and their bookkeeping.
const ENTRY_OVERHEAD_BYTES: usize = 2 * size_of::<Slot>() + size_of::<Entry>() + 64;

/// Which key of which topic.
type Slot = (TopicName, String);

#[derive(Debug, Clone)]
enum Entry {
    InProgress {
        fingerprint: u64,
        bytes: usize,
    },
    Done {
        fingerprint: u64,
        response: PublishResponse,
        /// Its place in [`Entries::by_expiry`].
        expiry: (u64, u64),
        bytes: usize,
    },
}

impl Entry {
    fn bytes(&self) -> usize {
        match self {
            Entry::InProgress { bytes, .. } | Entry::Done { bytes, .. } => *bytes,
        }
    }
}

/// What a publish with an idempotency key should do.
#[derive(Debug)]
pub enum Claim {
    /// First time: publish, then call [`IdempotencyCache::complete`] or [`IdempotencyCache::abandon`].
    New,
    /// Seen before with the same body: answer this.
    Replay(PublishResponse),
    InProgress,
    BodyMismatch,
    /// The cache is full of publishes in progress: refuse, retry later.
    Full,
}

/// The idempotency keys this process has seen, within a bound of estimated bytes.
#[derive(Debug)]
pub struct IdempotencyCache {
    entries: Mutex<Entries>,
    limit_bytes: usize,
    metrics: Arc<Metrics>,
    /// The node's accounted memory, which counts this cache's bytes.
    memory: Arc<MemoryBudget>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Slot, Entry>,
    /// Completed entries by (expiry in Unix ms, sequence): the order they are
    /// evicted in, and the order they expire in.
    by_expiry: BTreeMap<(u64, u64), Slot>,
    bytes: usize,
    sequence: u64,
}

impl IdempotencyCache {
    /// A cache of at most `limit_bytes` (estimated) that reports to `metrics`
    /// and counts its bytes in `memory`.
    pub fn new(limit_bytes: usize, metrics: Arc<Metrics>, memory: Arc<MemoryBudget>) -> Self {
        Self {
            entries: Mutex::default(),
            limit_bytes,
            metrics,
            memory,
        }
    }

    pub fn claim(&self, topic: &TopicName, key: &str, fingerprint: u64, now_millis: u64) -> Claim {
        let mut entries = self.lock();
        let slot = (topic.clone(), key.to_owned());
        match entries.map.get(&slot) {
            Some(Entry::Done {
                expiry: (expires_at_millis, _),
                ..
            }) if *expires_at_millis <= now_millis => {
                entries.remove(&slot);
            }
            Some(Entry::Done {
                fingerprint: seen,
                response,
                ..
            }) => {
                return if *seen == fingerprint {
                    let mut replay = response.clone();
                    replay.deduplicated = true;
                    Claim::Replay(replay)
                } else {
                    Claim::BodyMismatch
                };
            }
            Some(Entry::InProgress {
                fingerprint: seen, ..
            }) => {
                return if *seen == fingerprint {
                    Claim::InProgress
                } else {
                    Claim::BodyMismatch
                };
            }
            None => {}
        }
        let bytes = slot_bytes(&slot);
        self.evict_until(&mut entries, self.limit_bytes.saturating_sub(bytes));
        if entries.bytes + bytes > self.limit_bytes {
            self.metrics.idempotency_refusals.inc();
            return Claim::Full;
        }
        entries.insert(slot, Entry::InProgress { fingerprint, bytes });
        self.report(&entries);
        Claim::New
    }

    pub fn complete(
        &self,
        topic: &TopicName,
        key: &str,
        fingerprint: u64,
        response: PublishResponse,
        expires_at_millis: u64,
    ) {
        let mut entries = self.lock();
        let slot = (topic.clone(), key.to_owned());
        entries.remove(&slot);
        let bytes =
            slot_bytes(&slot) + slot.0.as_str().len() + slot.1.len() + answer_bytes(&response);
        let expiry = (expires_at_millis, entries.sequence);
        entries.sequence += 1;
        entries.by_expiry.insert(expiry, slot.clone());
        entries.insert(
            slot,
            Entry::Done {
                fingerprint,
                response,
                expiry,
                bytes,
            },
        );
        self.evict_until(&mut entries, self.limit_bytes);
        self.report(&entries);
    }

    /// The publish failed: a retry with the key may try again.
    pub fn abandon(&self, topic: &TopicName, key: &str) {
        let mut entries = self.lock();
        entries.remove(&(topic.clone(), key.to_owned()));
        self.report(&entries);
    }

    /// Drops expired entries and every entry of a deleted topic.
    pub fn sweep(&self, now_millis: u64, live_topic: impl Fn(&TopicName) -> bool) {
        let mut entries = self.lock();
        let gone: Vec<Slot> = entries
            .map
            .iter()
            .filter(|((topic, _), entry)| {
                !live_topic(topic)
                    || matches!(entry, Entry::Done { expiry: (expires_at_millis, _), .. } if *expires_at_millis <= now_millis)
            })
            .map(|(slot, _)| slot.clone())
            .collect();
        for slot in &gone {
            entries.remove(slot);
        }
        self.report(&entries);
    }

    /// Evicts completed entries, closest to expiry first, until at most
    /// `target` bytes are held or none is left to evict.
    fn evict_until(&self, entries: &mut Entries, target: usize) {
        while entries.bytes > target {
            let Some((_, slot)) = entries.by_expiry.pop_first() else {
                return;
            };
            if let Some(entry) = entries.map.remove(&slot) {
                entries.bytes -= entry.bytes();
                self.metrics.idempotency_evictions.inc();
            }
        }
    }

    fn report(&self, entries: &Entries) {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.metrics
            .idempotency_entries
            .set(gauge(entries.map.len()));
        self.metrics.idempotency_bytes.set(gauge(entries.bytes));
        self.memory
            .set(MemoryUse::IdempotencyKeys, entries.bytes as u64);
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Entries {
    fn insert(&mut self, slot: Slot, entry: Entry) {
        self.remove(&slot);
        self.bytes += entry.bytes();
        self.map.insert(slot, entry);
    }

    fn remove(&mut self, slot: &Slot) {
        if let Some(entry) = self.map.remove(slot) {
            self.bytes -= entry.bytes();
            if let Entry::Done { expiry, .. } = entry {
                self.by_expiry.remove(&expiry);
            }
        }
    }
}

/// Estimated bytes of an entry's slot: the key, the topic name and the overhead.
fn slot_bytes((topic, key): &Slot) -> usize {
    ENTRY_OVERHEAD_BYTES + topic.as_str().len() + key.len()
}

/// Estimated heap bytes of a stored answer.
fn answer_bytes(response: &PublishResponse) -> usize {
    let ids: usize = response
        .message_ids
        .iter()
        .map(|id| size_of::<String>() + id.len())
        .sum();
    ids + response.partitions.len() * size_of::<u32>() + response.offsets.len() * size_of::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_767_225_600_000;

    fn topic() -> TopicName {
        TopicName::new("orders").expect("valid name")
    }

    fn answer(offset: u64) -> PublishResponse {
        PublishResponse {
            message_ids: vec![format!("0-{offset}")],
            partitions: vec![0],
            offsets: vec![offset],
            ack_level: api::types::AckLevel::Memory,
            deduplicated: false,
        }
    }

    /// Claims and completes `key`, its dedup window ending at `expires`.
    fn publish(cache: &IdempotencyCache, key: &str, offset: u64, expires: u64) {
        assert!(matches!(cache.claim(&topic(), key, 7, NOW), Claim::New));
        cache.complete(&topic(), key, 7, answer(offset), expires);
    }

    #[test]
    fn past_its_bound_the_cache_evicts_the_completed_keys_closest_to_expiry() {
        tracing::info!("arrange: room for three completed keys of one message each");
        let metrics = Arc::new(Metrics::new());
        let probe = IdempotencyCache::new(usize::MAX, metrics.clone(), MemoryBudget::unbounded());
        publish(&probe, "key-0", 0, NOW + 1000);
        let entry = usize::try_from(metrics.idempotency_bytes.get()).expect("bytes");
        let metrics = Arc::new(Metrics::new());
        let cache = IdempotencyCache::new(3 * entry, metrics.clone(), MemoryBudget::unbounded());

        tracing::info!("act: five keys; key-3 ends its window before all others");
        for (i, expires) in [(0, 1000), (1, 2000), (2, 3000), (3, 500), (4, 5000)] {
            publish(&cache, &format!("key-{i}"), i, NOW + expires);
        }

        tracing::info!("assert: key-3 and key-0 went, the rest replay; the gauges fit the bound");
        for kept in ["key-1", "key-2", "key-4"] {
            assert!(
                matches!(cache.claim(&topic(), kept, 7, NOW), Claim::Replay(r) if r.deduplicated),
                "{kept} is still answered from the cache"
            );
        }
        assert_eq!(metrics.idempotency_evictions.get(), 2);
        assert_eq!(metrics.idempotency_entries.get(), 3);
        assert!(metrics.idempotency_bytes.get() <= i64::try_from(3 * entry).expect("bytes"));
        for evicted in ["key-3", "key-0"] {
            assert!(
                matches!(cache.claim(&topic(), evicted, 7, NOW), Claim::New),
                "{evicted} is forgotten: the publish goes to storage, which remembers it"
            );
            cache.abandon(&topic(), evicted);
        }
    }

    #[test]
    fn publishes_in_progress_are_never_evicted_and_a_cache_full_of_them_refuses_new_keys() {
        tracing::info!("arrange: room for two keys in progress");
        let metrics = Arc::new(Metrics::new());
        let in_progress = slot_bytes(&(topic(), "key-a".to_owned()));
        let cache =
            IdempotencyCache::new(2 * in_progress, metrics.clone(), MemoryBudget::unbounded());
        assert!(matches!(cache.claim(&topic(), "key-a", 1, NOW), Claim::New));
        assert!(matches!(cache.claim(&topic(), "key-b", 2, NOW), Claim::New));

        tracing::info!("act and assert: a third key is refused, the first two stay in progress");
        assert!(matches!(
            cache.claim(&topic(), "key-c", 3, NOW),
            Claim::Full
        ));
        assert_eq!(metrics.idempotency_refusals.get(), 1);
        assert_eq!(metrics.idempotency_evictions.get(), 0);
        assert!(matches!(
            cache.claim(&topic(), "key-a", 1, NOW),
            Claim::InProgress
        ));

        tracing::info!("once one of them ends, the third key is taken");
        cache.abandon(&topic(), "key-a");
        assert!(matches!(cache.claim(&topic(), "key-c", 3, NOW), Claim::New));
        assert_eq!(metrics.idempotency_entries.get(), 2);
    }

    #[test]
    fn a_sweep_drops_expired_keys_and_the_keys_of_deleted_topics() {
        let metrics = Arc::new(Metrics::new());
        let cache = IdempotencyCache::new(
            MAX_IDEMPOTENCY_CACHE_BYTES,
            metrics.clone(),
            MemoryBudget::unbounded(),
        );
        publish(&cache, "expired", 0, NOW);
        publish(&cache, "live", 1, NOW + 1000);
        cache.sweep(NOW, |_| true);
        assert_eq!(metrics.idempotency_entries.get(), 1);
        assert!(matches!(
            cache.claim(&topic(), "live", 7, NOW),
            Claim::Replay(_)
        ));
        cache.sweep(NOW, |_| false);
        assert_eq!(metrics.idempotency_entries.get(), 0);
        assert_eq!(metrics.idempotency_bytes.get(), 0);
    }
}

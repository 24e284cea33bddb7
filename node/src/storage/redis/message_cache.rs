//! The owner's cache of messages read from a partition's stream, and the
//! cache seen as the partition's log by a cursor call ([`CachedLog`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::storage::StoredMessage;
use crate::storage::cursor::LogView;

/// Most messages and bytes cached per partition; the lowest offsets go first.
const CACHE_MESSAGES: usize = 20_000;
const CACHE_BYTES: usize = 16 << 20;

/// Messages read from the stream, by offset. A message never changes once
/// written, so a cached copy is valid until retention trims it, except after a
/// Redis failover that lost the tail ([`MessageCache::observe_end`]).
#[derive(Debug)]
pub(crate) struct MessageCache {
    entries: BTreeMap<u64, Arc<StoredMessage>>,
    bytes: usize,
    /// How many cached messages have each priority, and how many priorities
    /// that is: a cursor call sees only cached messages, so with one priority
    /// cached it may take the oldest without looking further.
    per_priority: [u32; 256],
    priorities: usize,
    /// Highest partition end seen, to notice a log that went backwards.
    seen_end: u64,
    /// Moves on with every read taken in ([`MessageCache::observe_end`]) and
    /// every eviction or clearing: a read planned before it moved (see
    /// `fetch::Read::apply_for`) saw an older log or an older cache, and is
    /// not taken in.
    version: u64,
}

impl Default for MessageCache {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            bytes: 0,
            per_priority: [0; 256],
            priorities: 0,
            seen_end: 0,
            version: 0,
        }
    }
}

impl MessageCache {
    pub(super) fn contains(&self, offset: u64) -> bool {
        self.entries.contains_key(&offset)
    }

    pub(super) fn insert(&mut self, message: Arc<StoredMessage>) {
        let (size, priority) = (message.message.size(), message.message.priority);
        if self.entries.insert(message.offset, message).is_none() {
            self.bytes += size;
            let count = &mut self.per_priority[usize::from(priority)];
            *count += 1;
            if *count == 1 {
                self.priorities += 1;
            }
        }
    }

    fn forget(&mut self, message: &StoredMessage) {
        self.bytes -= message.message.size();
        let count = &mut self.per_priority[usize::from(message.message.priority)];
        *count -= 1;
        if *count == 0 {
            self.priorities -= 1;
        }
    }

    /// Drops what retention trimmed and what every loaded cursor acked, then the
    /// lowest offsets while over the bounds.
    pub(crate) fn evict(&mut self, keep_from: u64) {
        let kept = self.entries.split_off(&keep_from);
        let mut evicted = false;
        for message in std::mem::replace(&mut self.entries, kept).into_values() {
            self.forget(&message);
            evicted = true;
        }
        while self.entries.len() > CACHE_MESSAGES || self.bytes > CACHE_BYTES {
            let Some((_, message)) = self.entries.pop_first() else {
                break;
            };
            self.forget(&message);
            evicted = true;
        }
        if evicted {
            self.version += 1;
        }
    }

    /// Records the partition's end as just read. An end below one seen before
    /// means Redis lost the log's tail (failover to a replica that lacked it):
    /// offsets from there on may be reused, so their cached copies go.
    /// Returns whether that happened.
    pub(super) fn observe_end(&mut self, end: u64) -> bool {
        let regressed = end < self.seen_end;
        if regressed {
            for message in self.entries.split_off(&end).into_values() {
                self.forget(&message);
            }
        }
        self.seen_end = end;
        self.version += 1;
        regressed
    }

    /// See the field `version`.
    pub(super) fn version(&self) -> u64 {
        self.version
    }

    /// Drops every cached message: the node let the partition go, and while
    /// another node owned it a failover may have lost the log's tail and its
    /// offsets been reused.
    pub(crate) fn clear(&mut self) {
        *self = Self {
            version: self.version + 1,
            ..Self::default()
        };
    }

    /// The first offset at or after `from` that is not cached.
    pub(super) fn first_missing(&self, from: u64) -> u64 {
        // Usually the cache is one run of offsets (read by scans, evicted from
        // below): then the answer is its end, without walking up to a window
        // of entries on every lease.
        if let (Some((&first, _)), Some((&last, _))) = (
            self.entries.first_key_value(),
            self.entries.last_key_value(),
        ) && usize::try_from(last - first).is_ok_and(|span| span + 1 == self.entries.len())
        {
            return if (first..=last).contains(&from) {
                last + 1
            } else {
                from
            };
        }
        let mut expected = from;
        for offset in self.entries.range(from..).map(|(o, _)| *o) {
            if offset != expected {
                break;
            }
            expected += 1;
        }
        expected
    }
}

/// The cache seen as a partition log over `[start, end)`.
#[derive(Debug)]
pub(crate) struct CachedLog<'a> {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) cache: &'a MessageCache,
}

impl LogView for CachedLog<'_> {
    fn start(&self) -> u64 {
        self.start
    }

    fn end(&self) -> u64 {
        self.end
    }

    fn get(&self, offset: u64) -> Option<&Arc<StoredMessage>> {
        if offset < self.start || offset >= self.end {
            return None;
        }
        self.cache.entries.get(&offset)
    }

    /// The view holds only cached messages.
    fn priorities_may_differ_from(&self, _offset: u64) -> bool {
        self.cache.priorities > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::NewMessage;

    fn stored(offset: u64, priority: u8) -> Arc<StoredMessage> {
        Arc::new(StoredMessage {
            offset,
            message: NewMessage::of_priority(priority),
        })
    }

    fn view(cache: &MessageCache) -> CachedLog<'_> {
        CachedLog {
            start: 0,
            end: u64::MAX,
            cache,
        }
    }

    #[test]
    fn the_first_missing_offset_is_found_in_one_run_and_across_gaps() {
        let mut cache = MessageCache::default();
        assert_eq!(cache.first_missing(3), 3, "empty");
        for offset in 2..6 {
            cache.insert(stored(offset, 4));
        }
        assert_eq!(cache.first_missing(0), 0, "below the run");
        assert_eq!(cache.first_missing(2), 6);
        assert_eq!(cache.first_missing(5), 6);
        assert_eq!(cache.first_missing(9), 9, "above the run");
        cache.insert(stored(8, 4));
        cache.insert(stored(10, 4));
        assert_eq!(cache.first_missing(3), 6, "a gap after the run");
        assert_eq!(cache.first_missing(8), 9);
        assert_eq!(cache.first_missing(7), 7);
    }

    #[test]
    fn the_cache_counts_the_priorities_it_holds() {
        let mut cache = MessageCache::default();
        for offset in 0..4 {
            cache.insert(stored(offset, 4));
        }
        cache.insert(stored(2, 4));
        assert!(!view(&cache).priorities_may_differ_from(0));
        cache.insert(stored(4, 9));
        assert!(view(&cache).priorities_may_differ_from(0));
        assert_eq!(cache.bytes, 5);

        cache.evict(4);
        assert_eq!((cache.entries.len(), cache.bytes), (1, 1));
        assert!(!view(&cache).priorities_may_differ_from(0));

        cache.insert(stored(5, 4));
        assert!(!cache.observe_end(7), "the end moved forward");
        assert!(cache.observe_end(5), "the end went back: 5 and above go");
        assert_eq!(cache.entries.keys().copied().collect::<Vec<_>>(), vec![4]);
        assert!(!view(&cache).priorities_may_differ_from(0));
    }
}

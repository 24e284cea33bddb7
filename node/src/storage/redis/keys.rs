//! The Redis key layout. Every key of one partition carries the hash tag
//! `{<topic>:<partition>}`, so each script and pipeline touches one Redis Cluster
//! slot; nothing ever crosses slots.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<prefix>:{t:p}:log` | stream | the messages, entry id `0-<offset+1>` |
//! | `<prefix>:{t:p}:dedup:<key>` | string (PX = dedup window) | first offset of the batch published with this idempotency key |
//! | `<prefix>:{t:p}:meta` | hash | `start`, `end`, `appended` (bytes), last batch token |
//! | `<prefix>:{t:p}:epoch` | string | newest owner epoch seen by an append |
//! | `<prefix>:{t:p}:subs` | set | subscriptions with state on this partition |
//! | `<prefix>:{t:p}:sub:<s>` | hash | one subscription's cursor on this partition |
//! | `<prefix>:format` | string | the entry format new entries are written in, the prefix's only key outside a partition (`entry_format`) |

use cluster::SubscriptionName;

use crate::storage::PartitionRef;

/// The keys of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionKeys {
    /// `<prefix>:{<topic>:<partition>}`, shared by every key below.
    base: String,
}

impl PartitionKeys {
    pub(crate) fn new(prefix: &str, at: &PartitionRef) -> Self {
        Self {
            base: format!("{prefix}:{{{}:{}}}", at.topic, at.partition),
        }
    }

    pub(crate) fn log(&self) -> String {
        format!("{}:log", self.base)
    }

    pub(crate) fn meta(&self) -> String {
        format!("{}:meta", self.base)
    }

    /// Remembers an idempotent append's first offset for the dedup window.
    pub(crate) fn dedup(&self, idempotency_key: &str) -> String {
        format!("{}:dedup:{idempotency_key}", self.base)
    }

    pub(crate) fn epoch(&self) -> String {
        format!("{}:epoch", self.base)
    }

    pub(crate) fn subscriptions(&self) -> String {
        format!("{}:subs", self.base)
    }

    pub(crate) fn subscription(&self, name: &SubscriptionName) -> String {
        format!("{}:sub:{name}", self.base)
    }
}

/// The stream entry id of an offset: ids are `0-<offset+1>` (`0-0` is not a
/// valid id), so offsets stay dense and map 1:1 to ids.
pub(crate) fn entry_id(offset: u64) -> String {
    format!("0-{}", offset + 1)
}

/// The offset of a stream entry id written by [`entry_id`].
pub(crate) fn offset_of(id: &str) -> Option<u64> {
    id.strip_prefix("0-")?.parse::<u64>().ok()?.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::TopicName;

    #[test]
    fn every_key_of_a_partition_shares_one_hash_tag() {
        let at = PartitionRef {
            topic: TopicName::new("orders").expect("name"),
            partition: 3,
        };
        let keys = PartitionKeys::new("ps", &at);
        let sub = SubscriptionName::new("billing").expect("name");
        for key in [
            keys.log(),
            keys.meta(),
            keys.epoch(),
            keys.subscriptions(),
            keys.subscription(&sub),
        ] {
            assert!(key.starts_with("ps:{orders:3}:"), "{key}");
        }
        assert_eq!(keys.subscription(&sub), "ps:{orders:3}:sub:billing");
    }

    #[test]
    fn entry_ids_round_trip() {
        assert_eq!(entry_id(0), "0-1");
        assert_eq!(offset_of(&entry_id(41)), Some(41));
        assert_eq!(offset_of("0-0"), None);
        assert_eq!(offset_of("1700000000000-0"), None);
    }
}

//! The messages a partition's log holds, and where they sit: a partition, its
//! offsets and its retained range.

use std::collections::BTreeMap;

use bytes::Bytes;
use cluster::TopicName;
use serde::{Deserialize, Serialize};

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionRef {
    pub topic: TopicName,
    pub partition: u32,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub data: Bytes,
    pub attributes: BTreeMap<String, String>,
    pub ordering_key: Option<String>,
    pub priority: u8,
    pub publish_time_millis: u64,
    /// Not delivered before this time (delayed delivery).
    pub deliver_at_millis: Option<Millis>,
    /// Never delivered at or after this time (TTL).
    pub expire_at_millis: Option<Millis>,
}

impl NewMessage {
    /// A one-byte message of `priority`, published at 1 ms: for tests.
    #[cfg(test)]
    pub(crate) fn of_priority(priority: u8) -> Self {
        Self {
            data: Bytes::from_static(b"x"),
            attributes: BTreeMap::new(),
            ordering_key: None,
            priority,
            publish_time_millis: 1,
            deliver_at_millis: None,
            expire_at_millis: None,
        }
    }

    /// Bytes counted against size limits and statistics: data plus attributes.
    pub fn size(&self) -> usize {
        api::limits::counted_bytes(&self.data, &self.attributes)
    }
}

/// A time in Unix milliseconds, never 0, so that an `Option` of it takes 8
/// bytes, not 16: memory storage keeps every message, and this is 16 bytes of
/// each (see BENCHMARKS.md, memory).
pub type Millis = std::num::NonZeroU64;

/// A message as stored, shared between the log and its deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub offset: u64,
    pub message: NewMessage,
}

/// Retained range and totals of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartitionOffsets {
    /// First retained offset.
    pub start: u64,
    /// One past the last appended offset (= messages ever appended).
    pub end: u64,
    /// Bytes (data plus attributes) ever appended.
    pub bytes_appended: u64,
}

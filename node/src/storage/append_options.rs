//! How one topic's appends are stored and acknowledged.

use api::types::AckLevel;
use cluster::{Compression, Discard, Retention};
use serde::{Deserialize, Serialize};

/// How one topic's appends are stored and acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOptions {
    /// The level an append must reach before it succeeds; short of it, the
    /// append fails with [`StorageError::OutcomeUnknown`](super::StorageError::OutcomeUnknown).
    pub ack_level: AckLevel,
    pub compression: Compression,
    /// Set for a publish with an `Idempotency-Key`: a backend that can answer
    /// "outcome unknown" remembers the key with the batch, so a retry with the
    /// same key stores nothing new and gets the first offsets back.
    pub idempotency: Option<IdempotentAppend>,
    /// The topic's retention. Its size bounds act at every append, after any
    /// idempotent replay: with [`Discard::Old`] the oldest messages go until
    /// the partition fits again; with [`Discard::New`] an append that would
    /// pass a bound fails with
    /// [`StorageError::PartitionFull`](super::StorageError::PartitionFull),
    /// storing nothing. The age bound is upkeep's (`MessageLog::trim`).
    pub retention: Retention,
}

impl AppendOptions {
    /// Appends acknowledged at `ack_level`, uncompressed, with no idempotency
    /// key and no size bound.
    pub fn plain(ack_level: AckLevel) -> Self {
        Self {
            ack_level,
            compression: Compression::None,
            idempotency: None,
            retention: Retention {
                max_age_millis: None,
                max_bytes_per_partition: None,
                max_messages_per_partition: None,
                discard: Discard::Old,
            },
        }
    }
}

/// The key a partition remembers an append under, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentAppend {
    pub key: String,
    pub ttl_millis: u64,
}

//! How one topic's appends are stored and acknowledged.

use api::types::AckLevel;
use cluster::Compression;
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
}

impl AppendOptions {
    /// Appends acknowledged at `ack_level`, uncompressed, with no idempotency key.
    pub fn plain(ack_level: AckLevel) -> Self {
        Self {
            ack_level,
            compression: Compression::None,
            idempotency: None,
        }
    }
}

/// The key a partition remembers an append under, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentAppend {
    pub key: String,
    pub ttl_millis: u64,
}

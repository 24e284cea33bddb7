//! Messages moved out of delivery after too many failed attempts, and which
//! of them a redrive takes back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::StoredMessage;

/// A message moved out of delivery after too many failed attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub message: Arc<StoredMessage>,
    pub attempts: u32,
    /// The last nack reason the client gave, or why the lease ended.
    pub reason: Option<String>,
    pub dead_at_millis: u64,
}

/// Which dead letters a redrive takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveFilter {
    pub min_attempts: Option<u32>,
    pub published_after_millis: Option<u64>,
    pub published_before_millis: Option<u64>,
}

/// A dead letter whose copy is stored in the dead-letter topic: its offset
/// and the time it died, which tell this death from a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedDeadLetter {
    pub offset: u64,
    pub dead_at_millis: u64,
}

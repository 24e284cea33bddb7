//! [`StorageError`]: why a storage call failed, and whether its write happened.

use cluster::{Epoch, NodeId};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a storage operation failed. Says whether the write happened.
///
/// It crosses the peer port (see [`crate::routing`]), encoded by variant index:
/// variants are only ever appended, never reordered or removed.
#[derive(Debug, Error, Serialize, Deserialize)]
pub enum StorageError {
    /// The writer's epoch is older than the partition's: nothing was written.
    #[error("partition {partition} of {topic} is fenced: epoch {attempted} < current {current}")]
    Fenced {
        topic: String,
        partition: u32,
        attempted: Epoch,
        current: Epoch,
    },
    /// The topic or subscription has no storage (deleted meanwhile): nothing was written.
    #[error("{what} not found in storage")]
    NotFound { what: String },
    /// Storage could not be reached; the write surely did not happen.
    #[error("storage unavailable: {reason}")]
    Unavailable { reason: String },
    /// The write may or may not have happened (timeout, lost connection).
    #[error("storage outcome unknown: {reason}")]
    OutcomeUnknown { reason: String },
    /// The storage cannot give what a topic asks for (an ack level it cannot
    /// reach, a server setting missing): nothing was created.
    #[error("{reason}")]
    Unsupported { reason: String },
    /// Storage answered something this broker cannot read (a bug or foreign
    /// data under our keys). Nothing was written by this call.
    #[error("storage returned unreadable data: {reason}")]
    Corrupt { reason: String },
    /// The node asked to run a partition's call does not own the partition
    /// (ownership moved, or the caller's metadata is behind): nothing was
    /// done. `owner` is who the answering node believes owns it now.
    #[error("partition {partition} of {topic} is owned by another node ({owner:?})")]
    Moved {
        topic: String,
        partition: u32,
        owner: Option<NodeId>,
    },
    /// The partition is at a size bound of a topic whose discard policy
    /// refuses new messages: nothing was written.
    #[error(
        "partition {partition} of {topic} is full (its topic keeps at most {bound} and refuses new messages until retention makes room)"
    )]
    PartitionFull {
        topic: String,
        partition: u32,
        /// The bound reached, for a human: `1000 messages`, `1048576 bytes`.
        bound: String,
    },
    /// The storage has no room for the write (Redis at `maxmemory` with
    /// `noeviction` answered `OOM`): nothing was written.
    #[error("storage is full: {reason}")]
    Full { reason: String },
    /// The partition's owner refused a forwarded append because its memory
    /// alarm is raised (see `crate::overload`): nothing was written.
    #[error("the partition's owner is overloaded: {reason}")]
    Overloaded { reason: String },
}

impl StorageError {
    /// The call surely did not run because its partition could not be served
    /// now (storage or the partition's owner unreachable or overloaded, or
    /// the partition moving): another partition, or a later try, may do.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StorageError::Unavailable { .. }
                | StorageError::Moved { .. }
                | StorageError::Fenced { .. }
                | StorageError::Overloaded { .. }
        )
    }
}

//! The broker's error type and its one mapping to API error codes.

use api::ErrorCode;
use cluster::MetadataError;
use thiserror::Error;

use crate::overload::budget::MemoryAlarm;
use crate::storage::StorageError;

/// Why a broker operation failed.
#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{detail}")]
    InvalidArgument { detail: String },
    #[error("{detail}")]
    PayloadTooLarge { detail: String },
    /// A well-formed request the resource's state refuses (a pull without
    /// `memberId` on a partitioned subscription): no schema can tell it apart.
    #[error("{detail}")]
    FailedPrecondition { detail: String },
    #[error("invalid ack id {ack_id:?}: {reason}")]
    InvalidAckId {
        ack_id: String,
        reason: &'static str,
    },
    #[error("a publish with idempotency key {key:?} is still in progress; retry later")]
    IdempotencyKeyInUse { key: String },
    #[error("idempotency key {key:?} was already used for a different request body")]
    IdempotencyKeyReused { key: String },
    /// Publishes in progress fill the idempotency cache (see
    /// [`crate::broker::publish::dedup`]); nothing was stored.
    #[error("too many publishes with an idempotency key are in progress on this node; retry later")]
    IdempotencyCacheFull,
    /// The node's memory alarm is raised (see [`crate::overload`]): nothing was stored.
    #[error(transparent)]
    MemoryAlarm(#[from] MemoryAlarm),
    #[error("the broker is shutting down")]
    ShuttingDown,
    /// Metadata consensus could not take the command (no leader, unreachable,
    /// unknown outcome); rejections by `apply` become [`BrokerError::Metadata`].
    #[error(transparent)]
    Consensus(raft::ConsensusError),
    #[error("not acknowledged, their leases expired or were redelivered: {}", ack_ids.join(", "))]
    AckExpired { ack_ids: Vec<String> },
}

impl From<raft::ConsensusError> for BrokerError {
    fn from(error: raft::ConsensusError) -> Self {
        match error {
            raft::ConsensusError::Rejected(rejected) => Self::Metadata(rejected),
            other => Self::Consensus(other),
        }
    }
}

impl BrokerError {
    /// The topic, subscription or group member named does not exist (in
    /// this node's view, which may trail the leader's: see
    /// [`MetadataView::fresh`](crate::broker::metadata_view::MetadataView::fresh)).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            BrokerError::Metadata(
                MetadataError::TopicNotFound { .. }
                    | MetadataError::SubscriptionNotFound { .. }
                    | MetadataError::UnknownMember { .. }
            )
        )
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidArgument {
            detail: detail.into(),
        }
    }

    pub fn precondition(detail: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            detail: detail.into(),
        }
    }

    /// The stable API code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            BrokerError::Metadata(e) => match e {
                MetadataError::InvalidName { .. } | MetadataError::InvalidArgument { .. } => {
                    ErrorCode::InvalidArgument
                }
                MetadataError::TopicAlreadyExists { .. }
                | MetadataError::SubscriptionAlreadyExists { .. } => ErrorCode::AlreadyExists,
                MetadataError::TopicNotFound { .. } => ErrorCode::TopicNotFound,
                MetadataError::SubscriptionNotFound { .. } => ErrorCode::SubscriptionNotFound,
                MetadataError::NotPartitioned { .. } | MetadataError::GenerationAhead { .. } => {
                    ErrorCode::FailedPrecondition
                }
                MetadataError::UnknownMember { .. } => ErrorCode::UnknownMember,
                MetadataError::MemberAlreadyExists { .. } => ErrorCode::AlreadyExists,
                // Members expire, so a full group may take a new member later.
                MetadataError::GroupFull { .. } => ErrorCode::ResourceExhausted,
                MetadataError::NodeNotFound { .. } => ErrorCode::NotFound,
            },
            BrokerError::Storage(e) => match e {
                // A stale owner's write was refused, or the owner moved again
                // while the call was routed: nothing was done, and a retry
                // (once metadata settles) reaches the new owner.
                StorageError::Fenced { .. }
                | StorageError::Unavailable { .. }
                | StorageError::Moved { .. } => ErrorCode::Unavailable,
                // The metadata has the topic or subscription (the handler
                // looked it up), its storage not: created or deleted a
                // moment ago, or lost in a storage failover (Redis's
                // replication is asynchronous). Not "no such endpoint", and
                // not "no such topic" either, which the metadata contradicts:
                // nothing was done, and a retry sees the settled state.
                StorageError::NotFound { .. } => ErrorCode::Unavailable,
                StorageError::OutcomeUnknown { .. } => ErrorCode::OutcomeUnknown,
                StorageError::Corrupt { .. } => ErrorCode::Internal,
                StorageError::Unsupported { .. } => ErrorCode::InvalidArgument,
                StorageError::PartitionFull { .. } | StorageError::Overloaded { .. } => {
                    ErrorCode::ResourceExhausted
                }
                StorageError::Full { .. } => ErrorCode::InsufficientStorage,
            },
            BrokerError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            BrokerError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            BrokerError::FailedPrecondition { .. } => ErrorCode::FailedPrecondition,
            BrokerError::InvalidAckId { .. } => ErrorCode::InvalidAckId,
            BrokerError::IdempotencyKeyInUse { .. } => ErrorCode::IdempotencyKeyInUse,
            BrokerError::IdempotencyKeyReused { .. } => ErrorCode::IdempotencyKeyReused,
            BrokerError::IdempotencyCacheFull | BrokerError::MemoryAlarm(_) => {
                ErrorCode::ResourceExhausted
            }
            BrokerError::ShuttingDown => ErrorCode::Unavailable,
            BrokerError::Consensus(e) => match e {
                raft::ConsensusError::Rejected(_)
                | raft::ConsensusError::NoLeader { .. }
                | raft::ConsensusError::Unavailable { .. } => ErrorCode::Unavailable,
                raft::ConsensusError::OutcomeUnknown { .. } => ErrorCode::OutcomeUnknown,
                // The request is well-formed; the cluster's state refuses it.
                raft::ConsensusError::Refused { .. } => ErrorCode::FailedPrecondition,
                raft::ConsensusError::Storage { .. } | raft::ConsensusError::Config { .. } => {
                    ErrorCode::Internal
                }
            },
            BrokerError::AckExpired { .. } => ErrorCode::AckExpired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_state_refuses_is_a_failed_precondition() {
        let last_voter = BrokerError::from(raft::ConsensusError::Refused {
            reason: "node 0 is the last voter".to_owned(),
        });
        let ahead = BrokerError::from(MetadataError::GenerationAhead {
            generation: 3,
            current: 2,
        });
        for error in [
            last_voter,
            ahead,
            BrokerError::precondition("a push subscription"),
        ] {
            assert_eq!(error.code(), ErrorCode::FailedPrecondition, "{error}");
        }
    }

    #[test]
    fn storage_missing_for_a_known_resource_is_unavailable() {
        let missing = BrokerError::Storage(StorageError::NotFound {
            what: "partition 0 of topic m-0".to_owned(),
        });
        assert_eq!(missing.code(), ErrorCode::Unavailable, "{missing}");
        assert!(missing.code().retryable() && missing.code().definite());
    }
}

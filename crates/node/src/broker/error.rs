//! The broker's error type and its one mapping to API error codes.

use api::ErrorCode;
use cluster::MetadataError;
use thiserror::Error;

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
    #[error("invalid ack id {ack_id:?}: {reason}")]
    InvalidAckId {
        ack_id: String,
        reason: &'static str,
    },
    #[error("a publish with idempotency key {key:?} is still in progress; retry later")]
    IdempotencyKeyInUse { key: String },
    #[error("idempotency key {key:?} was already used for a different request body")]
    IdempotencyKeyReused { key: String },
    #[error("the broker is shutting down")]
    ShuttingDown,
    #[error("not acknowledged, their leases expired or were redelivered: {}", ack_ids.join(", "))]
    AckExpired { ack_ids: Vec<String> },
}

impl BrokerError {
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidArgument {
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
            },
            BrokerError::Storage(e) => match e {
                // A stale owner's write was refused; the client may retry and reach the new owner.
                StorageError::Fenced { .. } | StorageError::Unavailable { .. } => {
                    ErrorCode::Unavailable
                }
                StorageError::NotFound { .. } => ErrorCode::NotFound,
                StorageError::OutcomeUnknown { .. } => ErrorCode::OutcomeUnknown,
                StorageError::Corrupt { .. } => ErrorCode::Internal,
            },
            BrokerError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            BrokerError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            BrokerError::InvalidAckId { .. } => ErrorCode::InvalidAckId,
            BrokerError::IdempotencyKeyInUse { .. } => ErrorCode::IdempotencyKeyInUse,
            BrokerError::IdempotencyKeyReused { .. } => ErrorCode::IdempotencyKeyReused,
            BrokerError::ShuttingDown => ErrorCode::Unavailable,
            BrokerError::AckExpired { .. } => ErrorCode::AckExpired,
        }
    }
}

//! The one error type of the metadata model.

use thiserror::Error;

/// Why a name, a configuration or a command was rejected.
///
/// Every variant is a *definite* failure: the state did not change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// A resource name does not match the documented syntax.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        kind: &'static str,
        name: String,
        reason: &'static str,
    },
    /// A configuration field is out of range or inconsistent.
    #[error("invalid {field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("topic {name} already exists")]
    TopicAlreadyExists { name: String },
    #[error("topic {name} not found")]
    TopicNotFound { name: String },
    #[error("subscription {name} already exists")]
    SubscriptionAlreadyExists { name: String },
    #[error("subscription {name} not found")]
    SubscriptionNotFound { name: String },
}

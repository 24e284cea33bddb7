//! The one error type of the metadata model.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::NodeId;

/// Why a name, a configuration or a command was rejected.
///
/// Every variant is a *definite* failure: the state did not change.
///
/// It is serializable because a command's outcome travels between nodes (a
/// follower forwards a command to the leader and relays its reply); the fixed
/// texts are `Cow` so a decoded error owns them and a constructed one does not
/// allocate.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum MetadataError {
    /// A resource name does not match the documented syntax.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        kind: Cow<'static, str>,
        name: String,
        reason: Cow<'static, str>,
    },
    /// A configuration field is out of range or inconsistent.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        field: Cow<'static, str>,
        reason: String,
    },
    #[error("topic {name} already exists")]
    TopicAlreadyExists { name: String },
    #[error("topic {name} not found")]
    TopicNotFound { name: String },
    #[error("subscription {name} already exists")]
    SubscriptionAlreadyExists { name: String },
    #[error("subscription {name} not found")]
    SubscriptionNotFound { name: String },
    /// A consumer-group command on a subscription whose type is not `partitioned`.
    #[error(
        "subscription {name} is not partitioned; only partitioned subscriptions have consumer groups"
    )]
    NotPartitioned { name: String },
    /// A heartbeat names a generation the group has not reached (a client
    /// bug, or a node whose metadata lags the one the member joined through).
    #[error("generation {generation} is newer than the group's generation {current}")]
    GenerationAhead { generation: u64, current: u64 },
    /// The member left, expired, or never joined; it must join again.
    #[error("{member_id} is not a member of the consumer group of {subscription}; join again")]
    UnknownMember {
        subscription: String,
        member_id: String,
    },
    #[error("{member_id} is already a member of the consumer group of {subscription}")]
    MemberAlreadyExists {
        subscription: String,
        member_id: String,
    },
    #[error("the consumer group of {subscription} already has {max} members")]
    GroupFull { subscription: String, max: usize },
    #[error("node {id} is not a member of the cluster")]
    NodeNotFound { id: NodeId },
}

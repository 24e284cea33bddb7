//! Subscriptions: configuration, limits and validation.

use serde::{Deserialize, Serialize};

use crate::{MetadataError, SubscriptionName, TopicName};

/// Shortest ack deadline, in seconds (as in Google Pub/Sub).
pub const MIN_ACK_DEADLINE_SECONDS: u32 = 10;
/// Longest ack deadline, in seconds.
pub const MAX_ACK_DEADLINE_SECONDS: u32 = 600;
/// Ack deadline when none is given.
pub const DEFAULT_ACK_DEADLINE_SECONDS: u32 = 10;

/// How consumers of one subscription share its messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionType {
    /// Competing consumers: each message is leased to one consumer at a time.
    #[default]
    Shared,
    /// A consumer group: members join, each partition is consumed by exactly
    /// one member per generation (see [`crate::group`]).
    Partitioned,
}

/// Where a new subscription starts reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartPosition {
    /// Only messages published after the subscription was created (Pub/Sub, Kafka default).
    #[default]
    Latest,
    /// Every message still retained by the topic.
    Earliest,
}

/// What a client chooses when creating a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionConfig {
    pub topic: TopicName,
    pub kind: SubscriptionType,
    /// How long a delivered message stays leased before it is redelivered.
    pub ack_deadline_seconds: u32,
    /// Deliver messages with the same ordering key one at a time, in publish order.
    pub enable_message_ordering: bool,
    pub start_position: StartPosition,
}

impl SubscriptionConfig {
    /// A shared subscription on `topic` with every other setting at its default.
    pub fn new(topic: TopicName) -> Self {
        Self {
            topic,
            kind: SubscriptionType::default(),
            ack_deadline_seconds: DEFAULT_ACK_DEADLINE_SECONDS,
            enable_message_ordering: false,
            start_position: StartPosition::default(),
        }
    }

    /// Checks every bound; the error names the field.
    pub fn validate(&self) -> Result<(), MetadataError> {
        validate_ack_deadline(self.ack_deadline_seconds)
    }
}

/// Checks an ack deadline against [`MIN_ACK_DEADLINE_SECONDS`]..=[`MAX_ACK_DEADLINE_SECONDS`].
pub fn validate_ack_deadline(seconds: u32) -> Result<(), MetadataError> {
    if (MIN_ACK_DEADLINE_SECONDS..=MAX_ACK_DEADLINE_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(MetadataError::InvalidArgument {
            field: "ackDeadlineSeconds",
            reason: format!(
                "must be between {MIN_ACK_DEADLINE_SECONDS} and {MAX_ACK_DEADLINE_SECONDS}, got {seconds}"
            ),
        })
    }
}

/// A subscription as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub name: SubscriptionName,
    pub config: SubscriptionConfig,
    /// Milliseconds since the Unix epoch, taken from the creating command.
    pub created_at_millis: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_deadline_bounds_are_inclusive() {
        assert!(validate_ack_deadline(9).is_err());
        assert!(validate_ack_deadline(10).is_ok());
        assert!(validate_ack_deadline(600).is_ok());
        assert!(validate_ack_deadline(601).is_err());
    }
}

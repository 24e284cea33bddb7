//! Subscriptions: configuration, limits and validation.

use serde::{Deserialize, Serialize};

use crate::{MetadataError, PushConfig, SubscriptionName, TopicName};

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

/// Most attempts a dead-letter policy may allow before dead-lettering.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 100;
/// Fewest attempts a dead-letter policy may allow.
pub const MIN_DELIVERY_ATTEMPTS: u32 = 5;
/// Longest retry backoff: 10 minutes.
pub const MAX_BACKOFF_MILLIS: u64 = 600_000;

/// How long to wait before redelivering a nacked or expired message.
///
/// Attempt `n` (the delivery that failed) waits `base = min(max, min * 2^(n-1))`,
/// jittered into `[max(min, base/2), base]`, so waits grow exponentially, stay
/// within the configured bounds, and do not synchronise across messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub minimum_backoff_millis: u64,
    pub maximum_backoff_millis: u64,
}

/// Where messages go after too many failed deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterPolicy {
    pub dead_letter_topic: TopicName,
    /// Deliveries after which a nacked or expired message is dead-lettered.
    pub max_delivery_attempts: u32,
}

/// What an acknowledgement promises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// A message is acknowledged as it is delivered: never redelivered, may be lost.
    AtMostOnce,
    /// Redelivered until acknowledged; may be delivered more than once.
    #[default]
    AtLeastOnce,
    /// Like at-least-once, but an ack for an expired lease or an old attempt is
    /// refused, so a successful ack means no other delivery of the message can
    /// still succeed.
    ExactlyOnce,
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
    /// `None`: a nacked or expired message is deliverable again at once.
    pub retry_policy: Option<RetryPolicy>,
    pub dead_letter_policy: Option<DeadLetterPolicy>,
    pub delivery_mode: DeliveryMode,
    /// Set for a push subscription: the broker POSTs each message to an endpoint
    /// instead of serving pulls and streams. Defaults to `None` when decoding
    /// metadata written before the field existed.
    #[serde(default)]
    pub push: Option<PushConfig>,
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
            retry_policy: None,
            dead_letter_policy: None,
            delivery_mode: DeliveryMode::default(),
            push: None,
        }
    }

    /// Checks every bound; the error names the field.
    pub fn validate(&self) -> Result<(), MetadataError> {
        validate_ack_deadline(self.ack_deadline_seconds)?;
        let invalid = |field: &'static str, reason: String| {
            Err(MetadataError::InvalidArgument {
                field: field.into(),
                reason,
            })
        };
        if let Some(retry) = &self.retry_policy {
            if retry.maximum_backoff_millis > MAX_BACKOFF_MILLIS {
                return invalid(
                    "retryPolicy.maximumBackoff",
                    "must be at most 600s".to_owned(),
                );
            }
            if retry.minimum_backoff_millis > retry.maximum_backoff_millis {
                return invalid(
                    "retryPolicy.minimumBackoff",
                    "must not exceed maximumBackoff".to_owned(),
                );
            }
        }
        if let Some(dead) = &self.dead_letter_policy {
            if !(MIN_DELIVERY_ATTEMPTS..=MAX_DELIVERY_ATTEMPTS)
                .contains(&dead.max_delivery_attempts)
            {
                return invalid(
                    "deadLetterPolicy.maxDeliveryAttempts",
                    format!(
                        "must be between {MIN_DELIVERY_ATTEMPTS} and {MAX_DELIVERY_ATTEMPTS}, got {}",
                        dead.max_delivery_attempts
                    ),
                );
            }
            if dead.dead_letter_topic == self.topic {
                return invalid(
                    "deadLetterPolicy.deadLetterTopic",
                    "must differ from the subscription's own topic".to_owned(),
                );
            }
        }
        if let Some(push) = &self.push {
            push.validate()?;
        }
        Ok(())
    }
}

/// Checks an ack deadline against [`MIN_ACK_DEADLINE_SECONDS`]..=[`MAX_ACK_DEADLINE_SECONDS`].
pub fn validate_ack_deadline(seconds: u32) -> Result<(), MetadataError> {
    if (MIN_ACK_DEADLINE_SECONDS..=MAX_ACK_DEADLINE_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(MetadataError::InvalidArgument {
            field: "ackDeadlineSeconds".into(),
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

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based); `jitter` in `[0, 1)`.
    pub fn backoff_millis(&self, attempt: u32, jitter: f64) -> u64 {
        let min = self.minimum_backoff_millis;
        let max = self.maximum_backoff_millis;
        let doublings = attempt.saturating_sub(1).min(40);
        let base = min.saturating_mul(1u64 << doublings).min(max).max(min);
        let low = (base / 2).max(min);
        // The jittered value lies in [low, base]; truncation keeps it below base + 1.
        low + ((base - low) as f64 * jitter.clamp(0.0, 1.0)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn backoff_stays_within_bounds_and_grows(
            min in 0u64..60_000, extra in 0u64..600_000, attempt in 1u32..50, jitter in 0.0f64..1.0
        ) {
            let policy = RetryPolicy { minimum_backoff_millis: min, maximum_backoff_millis: (min + extra).min(MAX_BACKOFF_MILLIS).max(min) };
            let wait = policy.backoff_millis(attempt, jitter);
            prop_assert!(wait >= policy.minimum_backoff_millis && wait <= policy.maximum_backoff_millis);
            let next_floor = policy.backoff_millis(attempt + 1, 0.0);
            prop_assert!(next_floor >= policy.backoff_millis(attempt, 0.0), "the floor never shrinks");
        }
    }

    #[test]
    fn backoff_doubles_from_the_minimum() {
        let policy = RetryPolicy {
            minimum_backoff_millis: 1_000,
            maximum_backoff_millis: 10_000,
        };
        let ceilings: Vec<u64> = (1..=6).map(|a| policy.backoff_millis(a, 1.0)).collect();
        assert_eq!(ceilings, vec![1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(
            policy.backoff_millis(3, 0.0),
            2_000,
            "jitter floor is half the ceiling"
        );
    }

    #[test]
    fn dead_letter_policy_bounds() {
        let topic = TopicName::new("orders").expect("name");
        let mut config = SubscriptionConfig::new(topic.clone());
        config.dead_letter_policy = Some(DeadLetterPolicy {
            dead_letter_topic: TopicName::new("dlq").expect("name"),
            max_delivery_attempts: 4,
        });
        assert!(config.validate().is_err());
        config.dead_letter_policy = Some(DeadLetterPolicy {
            dead_letter_topic: topic,
            max_delivery_attempts: 5,
        });
        assert!(
            config.validate().is_err(),
            "a topic cannot be its own dead-letter topic"
        );
    }

    #[test]
    fn ack_deadline_bounds_are_inclusive() {
        assert!(validate_ack_deadline(9).is_err());
        assert!(validate_ack_deadline(10).is_ok());
        assert!(validate_ack_deadline(600).is_ok());
        assert!(validate_ack_deadline(601).is_err());
    }
}

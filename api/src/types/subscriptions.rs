use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ConsumerGroup;
use crate::duration::Duration;

/// How the consumers of one subscription share its messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionType {
    /// Competing consumers; each message is leased to one consumer at a time.
    #[default]
    Shared,
    /// A consumer group: members join, and each partition is delivered to exactly
    /// one member per generation.
    Partitioned,
}

/// Where a new subscription starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StartPosition {
    /// Messages published after the subscription was created.
    #[default]
    Latest,
    /// Every message the topic still retains.
    Earliest,
}

/// Exponential backoff between redeliveries of a nacked or expired message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicySpec {
    /// Wait after the first failure (default `"10s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "10s")]
    pub minimum_backoff: Option<Duration>,
    /// Longest wait, at most `"600s"` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "600s")]
    pub maximum_backoff: Option<Duration>,
}

/// Where messages go after too many failed deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadLetterPolicySpec {
    /// An existing topic, not the subscription's own.
    pub dead_letter_topic: String,
    /// 5 to 100 (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delivery_attempts: Option<u32>,
}

/// What an acknowledgement promises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// Acknowledged on delivery; never redelivered.
    AtMostOnce,
    /// Redelivered until acknowledged.
    #[default]
    AtLeastOnce,
    /// Acks of expired leases or old attempts are refused with `ACK_EXPIRED`.
    ExactlyOnce,
}

/// Body of `PUT /v1/subscriptions/{sub}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubscriptionRequest {
    /// The topic to subscribe to.
    pub topic: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<SubscriptionType>,
    /// 10 to 600 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_deadline_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_message_ordering: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_position: Option<StartPosition>,
    /// Without one, nacked and expired messages are redelivered at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_policy: Option<DeadLetterPolicySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_mode: Option<DeliveryMode>,
    /// Makes this a push subscription: the broker POSTs each message to an endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_config: Option<PushConfig>,
}

/// Push delivery settings, as sent when creating a subscription.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushConfig {
    /// An `http://` or `https://` URL that receives one POST per message.
    pub endpoint: String,
    /// Most requests in flight at once, 1 to 1,000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_outstanding: Option<u32>,
    /// Key of the `X-PubSubGo-Signature` header (HMAC-SHA256 of the body) sent
    /// with each request; 1 to 256 bytes. Never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Never prints the secret.
impl fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushConfig")
            .field("endpoint", &self.endpoint)
            .field("max_outstanding", &self.max_outstanding)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Push delivery settings, as returned: the secret stays in the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushConfigInfo {
    pub endpoint: String,
    pub max_outstanding: u32,
    /// Whether requests are signed.
    pub secret_set: bool,
}

/// A subscription, with statistics when fetched alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub name: String,
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: SubscriptionType,
    pub ack_deadline_seconds: u32,
    pub enable_message_ordering: bool,
    pub start_position: StartPosition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_policy: Option<DeadLetterPolicySpec>,
    pub delivery_mode: DeliveryMode,
    /// RFC 3339.
    pub create_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<SubscriptionStats>,
    /// Present on push subscriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_config: Option<PushConfigInfo>,
    /// The consumer group, for a `partitioned` subscription fetched alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<ConsumerGroup>,
}

/// How far a subscription is behind, per partition and in total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStats {
    /// Retained messages not yet acknowledged.
    pub backlog_messages: u64,
    /// Messages delivered and still leased.
    pub outstanding_messages: u64,
    /// Age of the oldest unacknowledged message; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unacked_age_seconds: Option<f64>,
    /// Messages never delivered because their TTL passed.
    pub expired_messages: u64,
    /// Messages dead-lettered and not redriven.
    pub dead_lettered_messages: u64,
    /// Ordering keys held back since one of their messages was dead-lettered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parked_ordering_keys: Vec<String>,
    pub partitions: Vec<PartitionBacklog>,
}

/// Backlog of one partition for one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionBacklog {
    pub partition: u32,
    pub backlog_messages: u64,
    pub outstanding_messages: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unacked_age_seconds: Option<f64>,
}

/// Answer of `GET /v1/subscriptions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSubscriptionsResponse {
    pub subscriptions: Vec<Subscription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

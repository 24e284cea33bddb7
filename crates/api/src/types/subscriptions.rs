use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the consumers of one subscription share its messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionType {
    /// Competing consumers; each message is leased to one consumer at a time.
    #[default]
    Shared,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub name: String,
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: SubscriptionType,
    pub ack_deadline_seconds: u32,
    pub enable_message_ordering: bool,
    pub start_position: StartPosition,
    /// RFC 3339.
    pub create_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<SubscriptionStats>,
    /// Present on push subscriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_config: Option<PushConfigInfo>,
}

/// How far a subscription is behind, per partition and in total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStats {
    /// Retained messages not yet acknowledged.
    pub backlog_messages: u64,
    /// Messages delivered and still leased.
    pub outstanding_messages: u64,
    pub partitions: Vec<PartitionBacklog>,
}

/// Backlog of one partition for one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionBacklog {
    pub partition: u32,
    pub backlog_messages: u64,
    pub outstanding_messages: u64,
}

/// Answer of `GET /v1/subscriptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSubscriptionsResponse {
    pub subscriptions: Vec<Subscription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ConsumerGroup;

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
    /// The consumer group, for a `partitioned` subscription fetched alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<ConsumerGroup>,
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

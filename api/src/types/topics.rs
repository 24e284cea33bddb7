use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::duration::Duration;
use crate::types::AckLevel;

/// How stored payloads are compressed (Redis storage only; transparent to
/// clients). Only payloads of at least 1 KiB are compressed, and only when
/// that makes them smaller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadCompression {
    #[default]
    None,
    Snappy,
    Lz4,
}

/// What an append does when its partition would pass a size bound
/// (`maxBytesPerPartition`, `maxMessagesPerPartition`), as NATS JetStream's
/// `discard` policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscardPolicy {
    /// Store the new messages and drop the oldest ones until the partition
    /// fits, delivered or not (the default).
    #[default]
    Old,
    /// Refuse the publish whole (`429 RESOURCE_EXHAUSTED`, nothing stored)
    /// until retention by age makes room.
    New,
}

/// Retention bounds of a topic: a message goes when it is older than
/// `maxAge`; at a size bound, `discard` decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionSpec {
    /// Oldest message age kept, e.g. `"604800s"` (the default, 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "604800s")]
    pub max_age: Option<Duration>,
    /// Most payload bytes (data plus attributes) kept per partition;
    /// unbounded when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes_per_partition: Option<u64>,
    /// Most messages kept per partition; unbounded when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages_per_partition: Option<u64>,
    /// What a publish that would pass a size bound does (default `"old"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discard: Option<DiscardPolicy>,
}

/// Body of `PUT /v1/topics/{topic}`. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTopicRequest {
    /// Number of partitions, 1 to 1024 (default 1). Fixed at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionSpec>,
    /// Largest message accepted (data plus attributes), up to 10 MiB (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<u32>,
    /// How long an `Idempotency-Key` is remembered (default `"600s"`, `"0s"` turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "600s")]
    pub dedup_window: Option<Duration>,
    /// How durable a publish must be before it is acknowledged: `"memory"`
    /// (the only level of memory storage), `"leader"` (the Redis default),
    /// `"replicated:N"` or `"fsynced"`. Fixed at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "replicated:1")]
    pub ack_level: Option<AckLevel>,
    /// Compression of stored payloads (default `"none"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<PayloadCompression>,
}

/// A topic, with statistics when fetched alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    pub retention: RetentionSpec,
    pub max_message_bytes: u32,
    #[schema(value_type = String)]
    pub dedup_window: Duration,
    /// The level every publish to this topic reaches before it is acknowledged.
    #[schema(value_type = String, example = "leader")]
    pub ack_level: AckLevel,
    #[serde(default)]
    pub compression: PayloadCompression,
    /// RFC 3339.
    pub create_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TopicStats>,
}

/// What a topic has seen, from the storage's point of view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicStats {
    /// Messages accepted since the topic was created (deduplicated retries not counted).
    pub messages_published: u64,
    /// Bytes of data and attributes accepted since the topic was created.
    pub bytes_published: u64,
    pub partitions: Vec<PartitionStats>,
    pub subscriptions: Vec<SubscriptionBacklog>,
}

/// Offsets of one partition: messages `[startOffset, endOffset)` are retained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStats {
    pub partition: u32,
    pub start_offset: u64,
    pub end_offset: u64,
}

/// How far one subscription is behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionBacklog {
    pub name: String,
    /// Retained messages not yet acknowledged by this subscription.
    pub backlog_messages: u64,
}

/// Answer of `GET /v1/topics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListTopicsResponse {
    pub topics: Vec<Topic>,
    /// Pass as `pageToken` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

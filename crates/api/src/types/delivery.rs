use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::data::Data;

/// A message as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// `"<partition>-<offset>"`, unique within the topic.
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Data::is_empty")]
    #[schema(value_type = String, format = Byte)]
    pub data: Data,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<String>,
    pub priority: u8,
    /// RFC 3339.
    pub publish_time: String,
    pub partition: u32,
    pub offset: u64,
}

/// A delivered message and the lease that goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedMessage {
    /// Pass to acknowledge, nack or modifyAckDeadline. Opaque.
    pub ack_id: String,
    pub message: Message,
    /// 1 on first delivery, then one more for every redelivery.
    pub delivery_attempt: u32,
    /// On a partitioned subscription: the group generation whose assignment
    /// gave this message's partition to the receiving member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

/// Body of `POST /v1/subscriptions/{sub}:pull`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PullRequest {
    /// 1 to 1,000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<u32>,
    /// Wait up to this long (0 to 60 s) for a first message when none is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u32>,
    /// Required on a partitioned subscription: the pulling member, whose
    /// partitions are the only ones served. Rejected on a shared subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
}

/// Answer of a pull; empty when nothing arrived within `waitSeconds`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse {
    #[serde(default)]
    pub received_messages: Vec<ReceivedMessage>,
}

/// Body of `:acknowledge` and `:nack`. Acking twice is not an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AckIdsRequest {
    pub ack_ids: Vec<String>,
}

/// Body of `:modifyAckDeadline`; 0 seconds nacks the messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifyAckDeadlineRequest {
    pub ack_ids: Vec<String>,
    /// 0 to 600: the new deadline, counted from now.
    pub ack_deadline_seconds: u32,
}

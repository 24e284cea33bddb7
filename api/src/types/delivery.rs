use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::data::Data;

/// A message's id, `"<partition>-<offset>"`: what [`Message::message_id`] and
/// [`PublishResponse::message_ids`](crate::types::PublishResponse) carry. One
/// is written per message published and per message delivered, so without
/// `format!`'s machinery.
pub fn message_id(partition: u32, offset: u64) -> String {
    let mut partition_digits = itoa::Buffer::new();
    let mut offset_digits = itoa::Buffer::new();
    let partition = partition_digits.format(partition);
    let offset = offset_digits.format(offset);
    let mut id = String::with_capacity(partition.len() + 1 + offset.len());
    id.push_str(partition);
    id.push('-');
    id.push_str(offset);
    id
}

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
    /// RFC 3339; present on delayed messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_time: Option<String>,
    /// RFC 3339; present on messages with a TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
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

/// Body of `:acknowledge`. Acking twice is not an error.
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

/// Body of `:nack`: deliver again after the retry policy's backoff, or after
/// `delaySeconds` when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NackRequest {
    pub ack_ids: Vec<String>,
    /// 0 to 600: wait this long instead of the backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u32>,
    /// Why processing failed (up to 1,024 bytes); kept in the dead-letter lineage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Body of `:seek`: exactly one of `time` and `position`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeekRequest {
    /// RFC 3339: messages published before it count as acknowledged, the rest as new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `earliest` or `latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<crate::types::StartPosition>,
}

/// One dead-lettered message of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub message: Message,
    /// Deliveries made before it was dead-lettered.
    pub delivery_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339.
    pub dead_letter_time: String,
}

/// Answer of `GET /v1/subscriptions/{sub}:deadLetters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListDeadLettersResponse {
    pub dead_letters: Vec<DeadLetter>,
}

/// Body of `:redrive`. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedriveRequest {
    /// Most messages to redrive (1 to 10,000; default 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<u32>,
    /// Only messages dead-lettered after at least this many attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_attempts: Option<u32>,
    /// RFC 3339: only messages published at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_after: Option<String>,
    /// RFC 3339: only messages published before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_before: Option<String>,
    /// Redelivery rate limit, messages per second per partition (1 to 10,000; default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<u32>,
}

/// Answer of `:redrive`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedriveResponse {
    /// Messages made deliverable again to this subscription.
    pub redriven: u64,
}

/// Body of `:resumeOrderingKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeKeyRequest {
    pub ordering_key: String,
}

/// Answer of `:resumeOrderingKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumeKeyResponse {
    /// False when the key was not parked.
    pub resumed: bool,
}

#[cfg(test)]
mod tests {
    use super::message_id;

    proptest::proptest! {
        #[test]
        fn message_ids_are_partition_dash_offset(partition: u32, offset: u64) {
            proptest::prop_assert_eq!(message_id(partition, offset), format!("{partition}-{offset}"));
        }
    }

    #[test]
    fn message_ids_at_the_edges() {
        assert_eq!(message_id(0, 0), "0-0");
        assert_eq!(message_id(3, 12_345), "3-12345");
        assert_eq!(
            message_id(u32::MAX, u64::MAX),
            "4294967295-18446744073709551615"
        );
    }
}

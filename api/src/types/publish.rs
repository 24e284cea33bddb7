use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::data::Data;
use crate::duration::Duration;

/// One message in a publish request. It needs non-empty `data` or at least one attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishMessage {
    /// The payload, base64-encoded.
    #[serde(default, skip_serializing_if = "Data::is_empty")]
    #[schema(value_type = String, format = Byte)]
    pub data: Data,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Messages with the same key go to the same partition and, on subscriptions with
    /// ordering enabled, are delivered in publish order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<String>,
    /// 0 (lowest) to 9 (highest); 4 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Hold the message back this long before its first delivery (up to 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "30s")]
    pub deliver_after: Option<Duration>,
    /// Never deliver the message once this long has passed since publishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "3600s")]
    pub ttl: Option<Duration>,
}

/// Body of `POST /v1/topics/{topic}:publish`: 1 to 1,000 messages, at most 10 MiB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishRequest {
    pub messages: Vec<PublishMessage>,
}

/// How durable a publish was when it was acknowledged. On the wire a string:
/// `"memory"`, `"leader"`, `"replicated:N"` (N ≥ 1) or `"fsynced"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckLevel {
    /// Held in the broker's memory: lost if the process dies (memory storage).
    Memory,
    /// Accepted by the Redis primary: survives a broker crash and a Redis process
    /// restart (with AOF), may be lost on a Redis failover or power loss.
    Leader,
    /// Accepted by the Redis primary and confirmed by `WAIT` from at least N
    /// replicas: survives the loss of the primary if a confirmed replica is promoted.
    Replicated(u32),
    /// Accepted by a Redis primary running `appendonly yes` with
    /// `appendfsync always`: on the primary's disk before the reply.
    Fsynced,
}

impl fmt::Display for AckLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckLevel::Memory => f.write_str("memory"),
            AckLevel::Leader => f.write_str("leader"),
            AckLevel::Replicated(n) => write!(f, "replicated:{n}"),
            AckLevel::Fsynced => f.write_str("fsynced"),
        }
    }
}

impl FromStr for AckLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "memory" => Ok(AckLevel::Memory),
            "leader" => Ok(AckLevel::Leader),
            "fsynced" => Ok(AckLevel::Fsynced),
            _ => match text.strip_prefix("replicated:").map(str::parse::<u32>) {
                Some(Ok(n)) if n >= 1 => Ok(AckLevel::Replicated(n)),
                _ => Err(format!(
                    "ack level must be memory, leader, replicated:N (N >= 1) or fsynced, got {text:?}"
                )),
            },
        }
    }
}

impl Serialize for AckLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AckLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Answer of a publish. The lists are parallel to the request's `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishResponse {
    pub message_ids: Vec<String>,
    pub partitions: Vec<u32>,
    pub offsets: Vec<u64>,
    /// `memory`, `leader`, `replicated:N` or `fsynced`: the topic's level, reached.
    #[schema(value_type = String, example = "leader")]
    pub ack_level: AckLevel,
    /// True when this is the stored answer to an earlier request with the same
    /// `Idempotency-Key`: nothing new was stored.
    #[serde(default)]
    pub deduplicated: bool,
}

#[cfg(test)]
mod tests {
    use super::AckLevel;

    #[test]
    fn ack_levels_are_strings_on_the_wire() {
        for (level, text) in [
            (AckLevel::Memory, "memory"),
            (AckLevel::Leader, "leader"),
            (AckLevel::Replicated(2), "replicated:2"),
            (AckLevel::Fsynced, "fsynced"),
        ] {
            let json = serde_json::to_string(&level).expect("serialize");
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<AckLevel>(&json).expect("parse"),
                level
            );
        }
        for bad in [
            "\"replicated:0\"",
            "\"replicated:\"",
            "\"quorum\"",
            "\"Leader\"",
        ] {
            assert!(serde_json::from_str::<AckLevel>(bad).is_err(), "{bad}");
        }
    }
}

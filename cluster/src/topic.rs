//! Topics: configuration, limits and validation.

use serde::{Deserialize, Serialize};

use crate::{MetadataError, TopicName};

/// Most partitions a topic may have.
pub const MAX_PARTITIONS: u32 = 1024;
/// Largest message a topic may be configured to accept (data plus attributes).
pub const MAX_MESSAGE_BYTES: u32 = 10 * 1024 * 1024;
/// Default per-message limit: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1024 * 1024;
/// Default idempotency window: 10 minutes.
pub const DEFAULT_DEDUP_WINDOW_MILLIS: u64 = 10 * 60 * 1000;
/// Longest idempotency window: 24 hours.
pub const MAX_DEDUP_WINDOW_MILLIS: u64 = 24 * 60 * 60 * 1000;
/// Default retention: 7 days.
pub const DEFAULT_RETENTION_MILLIS: u64 = 7 * 24 * 60 * 60 * 1000;

/// How long a partition keeps messages, and how much of them. A message goes
/// when its age passes the age bound; what happens at a size bound is the
/// [`Discard`] policy's.
///
/// Retention wins over subscriptions: a message trimmed by retention is gone even
/// if a subscription never acknowledged it (as in Kafka and Google Pub/Sub).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Oldest message age kept, in milliseconds; `None` keeps messages forever.
    pub max_age_millis: Option<u64>,
    /// Most payload bytes kept per partition; `None` means no size bound.
    pub max_bytes_per_partition: Option<u64>,
    /// Most messages kept per partition; `None` means no count bound.
    pub max_messages_per_partition: Option<u64>,
    /// What an append that would pass a size bound does.
    pub discard: Discard,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age_millis: Some(DEFAULT_RETENTION_MILLIS),
            max_bytes_per_partition: None,
            max_messages_per_partition: None,
            discard: Discard::Old,
        }
    }
}

impl Retention {
    /// Whether a size bound (bytes or messages) is set.
    pub fn bounds_size(&self) -> bool {
        self.max_bytes_per_partition.is_some() || self.max_messages_per_partition.is_some()
    }

    /// Whether a partition holding `messages` messages of `bytes` bytes is
    /// past a size bound.
    pub fn exceeded_by(&self, messages: u64, bytes: u64) -> bool {
        self.max_bytes_per_partition.is_some_and(|max| bytes > max)
            || self
                .max_messages_per_partition
                .is_some_and(|max| messages > max)
    }
}

/// What an append does when the partition would pass a size bound of its
/// topic's [`Retention`] (NATS JetStream's `discard` policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discard {
    /// The append is stored and the oldest messages go until the partition
    /// fits again, whether or not they were delivered.
    #[default]
    Old,
    /// The append is refused whole, storing nothing, until retention by age
    /// makes room: publishers are pushed back, nothing stored is dropped.
    New,
}

/// How durable a publish must be before the broker acknowledges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckPolicy {
    /// In the broker's memory (memory storage).
    Memory,
    /// Accepted by the storage primary.
    Leader,
    /// Accepted by the primary and confirmed by this many replicas (at least 1).
    Replicated(u32),
    /// On the primary's disk (append-only file synced on every write).
    Fsynced,
}

/// How stored payloads are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    #[default]
    None,
    Snappy,
    Lz4,
}

/// What a client chooses when creating a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// Number of partitions, fixed at creation (1 to [`MAX_PARTITIONS`]).
    pub partitions: u32,
    pub retention: Retention,
    /// Largest accepted message, data plus attribute keys and values.
    pub max_message_bytes: u32,
    /// How long an `Idempotency-Key` is remembered; 0 turns deduplication off.
    pub dedup_window_millis: u64,
    /// `None` means the storage's default (`memory` or `leader`). The serde
    /// defaults only help self-describing encodings (JSON); the Raft log's
    /// postcard encoding cannot read a config written before these fields.
    #[serde(default)]
    pub ack_policy: Option<AckPolicy>,
    #[serde(default)]
    pub compression: Compression,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            partitions: 1,
            retention: Retention::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            dedup_window_millis: DEFAULT_DEDUP_WINDOW_MILLIS,
            ack_policy: None,
            compression: Compression::None,
        }
    }
}

impl TopicConfig {
    /// Checks every bound; the error names the field.
    pub fn validate(&self) -> Result<(), MetadataError> {
        let invalid = |field: &'static str, reason: String| {
            Err(MetadataError::InvalidArgument {
                field: field.into(),
                reason,
            })
        };
        if !(1..=MAX_PARTITIONS).contains(&self.partitions) {
            return invalid(
                "partitions",
                format!(
                    "must be between 1 and {MAX_PARTITIONS}, got {}",
                    self.partitions
                ),
            );
        }
        if !(1..=MAX_MESSAGE_BYTES).contains(&self.max_message_bytes) {
            return invalid(
                "maxMessageBytes",
                format!(
                    "must be between 1 and {MAX_MESSAGE_BYTES}, got {}",
                    self.max_message_bytes
                ),
            );
        }
        if self.dedup_window_millis > MAX_DEDUP_WINDOW_MILLIS {
            return invalid("dedupWindow", "must be at most 24 hours".to_owned());
        }
        if self.ack_policy == Some(AckPolicy::Replicated(0)) {
            return invalid("ackLevel", "replicated:N needs N of at least 1".to_owned());
        }
        if self.retention.max_age_millis == Some(0) {
            return invalid("retention.maxAge", "must be positive when set".to_owned());
        }
        if self.retention.max_bytes_per_partition == Some(0) {
            return invalid(
                "retention.maxBytesPerPartition",
                "must be positive when set".to_owned(),
            );
        }
        if self.retention.max_messages_per_partition == Some(0) {
            return invalid(
                "retention.maxMessagesPerPartition",
                "must be positive when set".to_owned(),
            );
        }
        Ok(())
    }
}

/// A topic as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub name: TopicName,
    pub config: TopicConfig,
    /// Milliseconds since the Unix epoch, taken from the creating command.
    pub created_at_millis: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(TopicConfig::default().validate(), Ok(()));
    }

    #[test]
    fn each_bound_is_enforced_and_named() {
        let cases: [(TopicConfig, &str); 7] = [
            (
                TopicConfig {
                    ack_policy: Some(AckPolicy::Replicated(0)),
                    ..Default::default()
                },
                "ackLevel",
            ),
            (
                TopicConfig {
                    partitions: 0,
                    ..Default::default()
                },
                "partitions",
            ),
            (
                TopicConfig {
                    partitions: MAX_PARTITIONS + 1,
                    ..Default::default()
                },
                "partitions",
            ),
            (
                TopicConfig {
                    max_message_bytes: MAX_MESSAGE_BYTES + 1,
                    ..Default::default()
                },
                "maxMessageBytes",
            ),
            (
                TopicConfig {
                    dedup_window_millis: MAX_DEDUP_WINDOW_MILLIS + 1,
                    ..Default::default()
                },
                "dedupWindow",
            ),
            (
                TopicConfig {
                    retention: Retention {
                        max_age_millis: Some(0),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                "retention.maxAge",
            ),
            (
                TopicConfig {
                    retention: Retention {
                        max_messages_per_partition: Some(0),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                "retention.maxMessagesPerPartition",
            ),
        ];
        for (config, field) in cases {
            match config.validate() {
                Err(MetadataError::InvalidArgument { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: expected InvalidArgument, got {other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod serde_tests {
    use super::*;

    #[test]
    fn a_json_config_without_the_new_fields_reads_with_defaults() {
        let mut stored = serde_json::to_value(TopicConfig::default()).expect("serialize");
        let object = stored.as_object_mut().expect("object");
        object.remove("ack_policy");
        object.remove("compression");
        let config: TopicConfig = serde_json::from_value(stored).expect("deserialize");
        assert_eq!(config.ack_policy, None);
        assert_eq!(config.compression, Compression::None);
    }
}

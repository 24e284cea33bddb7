//! `topics create`: a topic's partitions, retention, limits, ack level and
//! storage compression.

use api::duration::Duration;
use api::types::{AckLevel, DiscardPolicy, PayloadCompression};
use clap::{Args, ValueEnum};

use super::values::parse_duration;

#[derive(Debug, Args)]
pub struct CreateTopicArgs {
    /// Name of the new topic: a letter, then 2 to 254 of `A-Za-z0-9._-`.
    pub name: String,
    /// Number of partitions (1 to 1024; the server's default is 1).
    #[arg(long)]
    pub partitions: Option<u32>,
    /// Oldest message age kept, in seconds like `604800s` (7 days).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub retention: Option<Duration>,
    /// Most payload bytes (data plus attributes) kept per partition.
    #[arg(long, value_name = "BYTES")]
    pub max_bytes_per_partition: Option<u64>,
    /// Most messages kept per partition.
    #[arg(long, value_name = "COUNT")]
    pub max_messages_per_partition: Option<u64>,
    /// At a size bound: `old` drops the oldest messages (the default), `new`
    /// refuses publishes (429) until retention by age makes room.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub discard: Option<Discard>,
    /// Largest message accepted, data plus attributes.
    #[arg(long, value_name = "BYTES")]
    pub max_message_bytes: Option<u32>,
    /// How long an idempotency key is remembered, like `600s` (`0s` turns it off).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub dedup_window: Option<Duration>,
    /// How durable a publish must be before it is acknowledged: `leader`,
    /// `replicated:N` or `fsynced` on Redis, `memory` on memory storage.
    #[arg(long, value_name = "LEVEL", value_parser = |s: &str| s.parse::<AckLevel>())]
    pub ack_level: Option<AckLevel>,
    /// Compression of stored payloads of at least 1 KiB (Redis storage).
    #[arg(long = "storage-compression", value_enum, value_name = "CODEC")]
    pub storage_compression: Option<StorageCompression>,
}

/// What a publish that would pass a topic's size bound does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Discard {
    Old,
    New,
}

impl From<Discard> for DiscardPolicy {
    fn from(value: Discard) -> Self {
        match value {
            Discard::Old => DiscardPolicy::Old,
            Discard::New => DiscardPolicy::New,
        }
    }
}

/// How a topic's payloads are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageCompression {
    None,
    Snappy,
    Lz4,
}

impl From<StorageCompression> for PayloadCompression {
    fn from(value: StorageCompression) -> Self {
        match value {
            StorageCompression::None => PayloadCompression::None,
            StorageCompression::Snappy => PayloadCompression::Snappy,
            StorageCompression::Lz4 => PayloadCompression::Lz4,
        }
    }
}

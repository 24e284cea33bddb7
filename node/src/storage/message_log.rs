//! [`MessageLog`]: ordered, per-partition message logs.

use std::sync::Arc;

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::{Retention, TopicName};

use super::{
    AppendOptions, Epoch, NewMessage, PartitionOffsets, PartitionRef, StorageError, StoredMessage,
};

/// Ordered, per-partition message logs.
#[async_trait]
pub trait MessageLog: Send + Sync + std::fmt::Debug {
    /// How durable an acknowledged append is when the topic does not choose.
    fn ack_level(&self) -> AckLevel;

    /// Whether the backend answers now, for readiness. In-process backends always do.
    async fn ping(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Whether this storage can give `options` to a new topic with
    /// `partitions` partitions; a refusal ([`StorageError::Unsupported`])
    /// names what is missing.
    async fn check_options(
        &self,
        topic: &TopicName,
        partitions: u32,
        options: &AppendOptions,
    ) -> Result<(), StorageError>;

    /// Prepares `partitions` empty partitions for `topic`. Idempotent: an
    /// existing partition keeps its messages.
    async fn create_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError>;

    /// Drops the messages of the topic's `partitions` partitions and every
    /// subscription state on them.
    async fn delete_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError>;

    /// Appends a batch atomically and returns the offsets, in order. Fails with
    /// [`StorageError::Fenced`] and stores nothing if `epoch` is stale.
    async fn append(
        &self,
        partition: &PartitionRef,
        epoch: Epoch,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<u64>, StorageError>;

    /// [`MessageLog::append`] at the topic's ack level and compression.
    async fn append_with(
        &self,
        partition: &PartitionRef,
        epoch: Epoch,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError>;

    /// Up to `max` messages from `from` on (clamped to the retained range).
    async fn read(
        &self,
        partition: &PartitionRef,
        from: u64,
        max: usize,
    ) -> Result<Vec<Arc<StoredMessage>>, StorageError>;

    async fn offsets(&self, partition: &PartitionRef) -> Result<PartitionOffsets, StorageError>;

    /// Drops messages beyond the retention bounds; returns how many went.
    async fn trim(
        &self,
        partition: &PartitionRef,
        retention: &Retention,
        now_millis: u64,
    ) -> Result<u64, StorageError>;
}

//! [`MessageLog`]: ordered, per-partition message logs.

use std::sync::Arc;

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::{Retention, TopicName};

use super::{
    AppendOptions, NewMessage, PartitionOffsets, PartitionRef, StorageError, StoredMessage,
};

/// Ordered, per-partition message logs.
///
/// Appends are written as the partition's owner: the epoch they carry, which
/// fences a stale owner, is the storage's to know, not the caller's. A
/// backend on its own (a broker without a cluster) owns every partition at
/// [`Epoch::SINGLE_NODE`](super::Epoch::SINGLE_NODE); in a cluster,
/// [`RoutedStorage`](crate::routing::RoutedStorage) runs the append on the
/// owner node with the owner's epoch from the metadata, through
/// [`FencedLog`](super::FencedLog).
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

    /// Appends a batch atomically, as the partition's owner, at this
    /// storage's own ack level, uncompressed; returns the offsets, in order.
    /// Fails with [`StorageError::Fenced`] and stores nothing if a newer
    /// owner has written the partition since.
    async fn append(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<u64>, StorageError> {
        let options = AppendOptions::plain(self.ack_level());
        self.append_with(partition, messages, &options).await
    }

    /// [`MessageLog::append`] at the topic's ack level and compression.
    async fn append_with(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError>;

    /// [`MessageLog::append_with`] for a caller that may try another
    /// partition when this one is unavailable: a failed append hands the
    /// messages back (`Some`) for that. This default copies them first; a
    /// backend that can give them back without a copy (routed storage, for a
    /// call it sent to another node) overrides it, so a publish in a cluster
    /// does not copy every batch in case its partition is down.
    async fn append_with_returning(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, (StorageError, Option<Vec<NewMessage>>)> {
        let copy = messages.clone();
        self.append_with(partition, messages, options)
            .await
            .map_err(|e| (e, Some(copy)))
    }

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

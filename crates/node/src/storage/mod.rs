//! Where messages and subscription state live.
//!
//! Two traits split the job: [`MessageLog`] holds each partition's ordered log,
//! [`SubscriptionState`] holds what each subscription has leased, acked and must
//! redeliver. [`Storage`] is both. [`memory::MemoryStorage`] implements them for
//! development and tests; every implementation must pass [`conformance`].
//!
//! Offsets are dense per partition and start at 0, so a partition's end offset
//! is also the number of messages ever appended to it.

pub mod conformance;
pub mod memory;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cluster::subscription::StartPosition;
use cluster::{Retention, SubscriptionName, TopicName};
use thiserror::Error;

/// Owner epoch of a partition. Appends carry the writer's epoch; storage rejects
/// an epoch older than the newest it has seen (fencing a stale owner).
pub type Epoch = u64;

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionRef {
    pub topic: TopicName,
    pub partition: u32,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub data: Bytes,
    pub attributes: BTreeMap<String, String>,
    pub ordering_key: Option<String>,
    pub priority: u8,
    pub publish_time_millis: u64,
}

impl NewMessage {
    /// Bytes counted against size limits and statistics: data plus attributes.
    pub fn size(&self) -> usize {
        self.data.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// A message as stored, shared between the log and its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub offset: u64,
    pub message: NewMessage,
}

/// Retained range and totals of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionOffsets {
    /// First retained offset.
    pub start: u64,
    /// One past the last appended offset (= messages ever appended).
    pub end: u64,
    /// Bytes (data plus attributes) ever appended.
    pub bytes_appended: u64,
}

/// What a lease request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRequest {
    pub max_messages: usize,
    pub now_millis: u64,
    /// When the new leases expire.
    pub deadline_millis: u64,
    /// Deliver one message per ordering key at a time, in offset order.
    pub ordered: bool,
}

/// One leased message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    pub message: Arc<StoredMessage>,
    /// 1 on first delivery.
    pub attempt: u32,
}

/// Identifies one delivery of one message: the ack id's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRef {
    pub offset: u64,
    pub attempt: u32,
}

/// How far a subscription is behind in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Retained messages not yet acknowledged.
    pub unacked: u64,
    /// Messages leased right now.
    pub outstanding: u64,
}

/// Why a storage operation failed. Says whether the write happened.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The writer's epoch is older than the partition's: nothing was written.
    #[error("partition {partition} of {topic} is fenced: epoch {attempted} < current {current}")]
    Fenced {
        topic: String,
        partition: u32,
        attempted: Epoch,
        current: Epoch,
    },
    /// The topic or subscription has no storage (deleted meanwhile): nothing was written.
    #[error("{what} not found in storage")]
    NotFound { what: String },
    /// Storage could not be reached; the write surely did not happen.
    #[error("storage unavailable: {reason}")]
    Unavailable { reason: String },
    /// The write may or may not have happened (timeout, lost connection).
    #[error("storage outcome unknown: {reason}")]
    OutcomeUnknown { reason: String },
}

/// Ordered, per-partition message logs.
#[async_trait]
pub trait MessageLog: Send + Sync + std::fmt::Debug {
    /// Prepares `partitions` empty partitions for `topic`.
    async fn create_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError>;

    /// Drops the topic's messages and every subscription state on it.
    async fn delete_topic(&self, topic: &TopicName) -> Result<(), StorageError>;

    /// Appends a batch atomically and returns the offsets, in order. Fails with
    /// [`StorageError::Fenced`] and stores nothing if `epoch` is stale.
    async fn append(
        &self,
        partition: &PartitionRef,
        epoch: Epoch,
        messages: Vec<NewMessage>,
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

/// Per-subscription delivery state: cursor, leases, redeliveries, acks.
///
/// Semantics every implementation keeps:
/// - a message is leased to one consumer at a time; a lease past its deadline
///   makes the message deliverable again with the attempt count increased;
/// - an ack is final: an acked message is never leased again; acking a message
///   that is already acked, or whose lease expired, still acks it (at-least-once);
/// - `ordered` leasing never has two messages of one ordering key leased at once
///   and leases each key's messages in offset order.
#[async_trait]
pub trait SubscriptionState: Send + Sync + std::fmt::Debug {
    /// Starts tracking `subscription` on `partitions` partitions of `topic`.
    async fn create_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError>;

    async fn delete_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
    ) -> Result<(), StorageError>;

    /// Leases up to `request.max_messages` deliverable messages of one partition.
    async fn lease(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<Vec<Leased>, StorageError>;

    /// Acks each delivery; returns how many were newly acked.
    async fn ack(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
    ) -> Result<u64, StorageError>;

    /// Moves the deadline of leases that are still current (same attempt).
    /// A deadline at or before `now_millis` releases them for redelivery now.
    async fn extend(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        deadline_millis: u64,
        now_millis: u64,
    ) -> Result<(), StorageError>;

    async fn backlog(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        now_millis: u64,
    ) -> Result<Backlog, StorageError>;

    /// The earliest time a current lease expires, to wake waiting consumers.
    async fn next_expiry(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
    ) -> Result<Option<u64>, StorageError>;
}

/// A complete storage backend.
pub trait Storage: MessageLog + SubscriptionState {}

impl<T: MessageLog + SubscriptionState> Storage for T {}

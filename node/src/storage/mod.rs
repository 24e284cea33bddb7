//! Where messages and subscription state live.
//!
//! Two traits split the job: [`MessageLog`] holds each partition's ordered log,
//! [`SubscriptionState`] holds what each subscription has leased, acked and must
//! redeliver. [`Storage`] is both. Two backends implement them:
//! [`memory::MemoryStorage`] (development and tests) and [`redis::RedisStorage`]
//! (Redis standalone or Redis Cluster). Every backend must pass [`conformance`].
//!
//! The delivery state machine itself lives once, in `cursor` (a subscription's
//! state on one partition), and both backends run it: memory keeps cursors only
//! in memory, Redis keeps them in the partition owner's memory as a working copy
//! and writes every change through to Redis before a call returns; the copy is
//! dropped ([`SubscriptionState::release_partition`]) when ownership moves away.
//!
//! In a cluster, [`routed::RoutedStorage`] wraps a node's backend and runs each
//! per-partition call on the partition's owner node, over the peer port.
//!
//! Offsets are dense per partition and start at 0, so a partition's end offset
//! is also the number of messages ever appended to it.

pub mod conformance;
pub(crate) mod cursor;
pub mod memory;
pub mod redis;
pub mod routed;

use std::collections::BTreeMap;
use std::sync::Arc;

use api::types::AckLevel;
use async_trait::async_trait;
use bytes::Bytes;
use cluster::subscription::{DeliveryMode, RetryPolicy, StartPosition};
use cluster::{Compression, Retention, SubscriptionName, TopicName};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One delivery in this many ignores priority and takes the oldest deliverable
/// message, so a stream of high-priority messages cannot starve the rest.
pub const FAIRNESS_PERIOD: u64 = 4;

/// How many deliverable messages a lease considers when ordering by priority.
pub const PRIORITY_WINDOW: usize = 1000;

/// Owner epoch of a partition. Appends carry the writer's epoch; storage rejects
/// an epoch older than the newest it has seen (fencing a stale owner).
pub type Epoch = u64;

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionRef {
    pub topic: TopicName,
    pub partition: u32,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub data: Bytes,
    pub attributes: BTreeMap<String, String>,
    pub ordering_key: Option<String>,
    pub priority: u8,
    pub publish_time_millis: u64,
    /// Not delivered before this time (delayed delivery).
    pub deliver_at_millis: Option<Millis>,
    /// Never delivered at or after this time (TTL).
    pub expire_at_millis: Option<Millis>,
}

impl NewMessage {
    /// Bytes counted against size limits and statistics: data plus attributes.
    pub fn size(&self) -> usize {
        api::limits::counted_bytes(&self.data, &self.attributes)
    }
}

/// A time in Unix milliseconds, never 0, so that an `Option` of it takes 8
/// bytes, not 16: memory storage keeps every message, and this is 16 bytes of
/// each (see BENCHMARKS.md, memory).
pub type Millis = std::num::NonZeroU64;

/// A message as stored, shared between the log and its deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub offset: u64,
    pub message: NewMessage,
}

/// Retained range and totals of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartitionOffsets {
    /// First retained offset.
    pub start: u64,
    /// One past the last appended offset (= messages ever appended).
    pub end: u64,
    /// Bytes (data plus attributes) ever appended.
    pub bytes_appended: u64,
}

/// The subscription settings that shape delivery, passed with each call so
/// storage never needs the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryPolicy {
    /// Deliver one message per ordering key at a time, in offset order.
    pub ordered: bool,
    /// Wait before redelivery; `None` redelivers at once.
    pub retry: Option<RetryPolicy>,
    /// Dead-letter a message whose delivery number `max_attempts` failed.
    pub max_attempts: Option<u32>,
    pub mode: DeliveryMode,
}

/// What a lease request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRequest {
    /// 0 only processes expired leases (and reports dead letters).
    pub max_messages: usize,
    pub now_millis: u64,
    /// When the new leases expire.
    pub deadline_millis: u64,
    pub policy: DeliveryPolicy,
}

/// What a lease call did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LeaseOutcome {
    pub leased: Vec<Leased>,
    /// Messages skipped because their TTL passed.
    pub expired: u64,
    /// Messages that exceeded their attempts while this call processed expiries.
    pub dead_lettered: Vec<DeadLetter>,
}

/// A message moved out of delivery after too many failed attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub message: Arc<StoredMessage>,
    pub attempts: u32,
    /// The last nack reason the client gave, or why the lease ended.
    pub reason: Option<String>,
    pub dead_at_millis: u64,
}

/// What an ack call did.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckOutcome {
    pub newly_acked: u64,
    /// Exactly-once only: deliveries whose lease was not current; not acked.
    pub stale: Vec<DeliveryRef>,
}

/// A negative acknowledgement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nack {
    /// Wait this long before redelivery instead of the retry policy's backoff.
    pub delay_millis: Option<u64>,
    /// Why the client gave up; kept for the dead-letter lineage.
    pub reason: Option<String>,
}

/// Which dead letters a redrive takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveFilter {
    pub min_attempts: Option<u32>,
    pub published_after_millis: Option<u64>,
    pub published_before_millis: Option<u64>,
}

/// Where a seek moves a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeekTarget {
    Earliest,
    Latest,
    /// The first message published at or after this time.
    Time(u64),
}

/// One leased message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leased {
    pub message: Arc<StoredMessage>,
    /// 1 on first delivery.
    pub attempt: u32,
}

/// Identifies one delivery of one message: the ack id's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRef {
    pub offset: u64,
    pub attempt: u32,
}

/// How far a subscription is behind in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Backlog {
    /// Retained messages not yet acknowledged (dead letters and expired excluded).
    pub unacked: u64,
    /// Messages leased right now.
    pub outstanding: u64,
    /// Publish time of the oldest unacknowledged message.
    pub oldest_unacked_publish_millis: Option<u64>,
    /// Messages never delivered because their TTL passed (since creation or seek).
    pub expired: u64,
    /// Messages currently dead-lettered (redrivable).
    pub dead_lettered: u64,
}

/// Why a storage operation failed. Says whether the write happened.
///
/// It crosses the peer port (see [`routed`]), encoded by variant index:
/// variants are only ever appended, never reordered or removed.
#[derive(Debug, Error, Serialize, Deserialize)]
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
    /// The storage cannot give what a topic asks for (an ack level it cannot
    /// reach, a server setting missing): nothing was created.
    #[error("{reason}")]
    Unsupported { reason: String },
    /// Storage answered something this broker cannot read (a bug or foreign
    /// data under our keys). Nothing was written by this call.
    #[error("storage returned unreadable data: {reason}")]
    Corrupt { reason: String },
    /// The node asked to run a partition's call does not own the partition
    /// (ownership moved, or the caller's metadata is behind): nothing was
    /// done. `owner` is who the answering node believes owns it now.
    #[error("partition {partition} of {topic} is owned by another node ({owner:?})")]
    Moved {
        topic: String,
        partition: u32,
        owner: Option<u64>,
    },
}

impl StorageError {
    /// The call surely did not run because its partition could not be served
    /// now (storage or the partition's owner unreachable, or the partition
    /// moving): another partition, or a later try, may do.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StorageError::Unavailable { .. }
                | StorageError::Moved { .. }
                | StorageError::Fenced { .. }
        )
    }
}

/// How one topic's appends are stored and acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOptions {
    /// The level an append must reach before it succeeds; short of it, the
    /// append fails with [`StorageError::OutcomeUnknown`].
    pub ack_level: AckLevel,
    pub compression: Compression,
    /// Set for a publish with an `Idempotency-Key`: a backend that can answer
    /// "outcome unknown" remembers the key with the batch, so a retry with the
    /// same key stores nothing new and gets the first offsets back.
    pub idempotency: Option<IdempotentAppend>,
}

/// The key a partition remembers an append under, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentAppend {
    pub key: String,
    pub ttl_millis: u64,
}

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

/// Per-subscription delivery state: cursor, leases, redeliveries, acks, dead letters.
///
/// Semantics every implementation keeps (the conformance suite checks them):
/// - a message is leased to one consumer at a time; a lease past its deadline,
///   or nacked, makes the message deliverable again after the retry backoff, with
///   the attempt count increased; past `max_attempts` it is dead-lettered instead;
/// - an ack is final: an acked message is never leased again; outside
///   exactly-once, acking a message whose lease expired still acks it;
/// - `ordered` leasing never has two messages of one ordering key out at once and
///   leases each key's messages in offset order; a key whose message is
///   dead-lettered is parked until resumed or redriven;
/// - among deliverable messages higher priority goes first, except that every
///   [`FAIRNESS_PERIOD`]th delivery takes the oldest, so low priorities never starve;
/// - a message is not delivered before its `deliver_at`, nor at or after its `expire_at`.
#[async_trait]
pub trait SubscriptionState: Send + Sync + std::fmt::Debug {
    /// Starts tracking `subscription` on `partitions` partitions of `topic`.
    /// Idempotent: an existing subscription keeps its state.
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
        partitions: u32,
    ) -> Result<(), StorageError>;

    /// Leases up to `request.max_messages` deliverable messages of one partition.
    async fn lease(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError>;

    /// Acks each delivery. With `exact`, only current leases are acked.
    async fn ack(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        now_millis: u64,
        exact: bool,
    ) -> Result<AckOutcome, StorageError>;

    /// Moves the deadline (later than now) of leases that are still current.
    async fn extend(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        deadline_millis: u64,
        now_millis: u64,
    ) -> Result<(), StorageError>;

    /// Ends current leases for redelivery (or dead-lettering).
    async fn nack(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        nack: &Nack,
        now_millis: u64,
        policy: DeliveryPolicy,
    ) -> Result<Vec<DeadLetter>, StorageError>;

    async fn backlog(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        now_millis: u64,
    ) -> Result<Backlog, StorageError>;

    /// The earliest future time something may become deliverable: a lease
    /// expiry, a backoff or a delay ending.
    async fn next_wakeup(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        now_millis: u64,
    ) -> Result<Option<u64>, StorageError>;

    /// Up to `max` dead letters, oldest offset first.
    async fn dead_letters(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError>;

    /// Makes up to `max` matching dead letters deliverable again (attempts start
    /// over), the i-th at `now + i * spacing_millis`; returns how many.
    async fn redrive(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        filter: RedriveFilter,
        max: usize,
        now_millis: u64,
        spacing_millis: u64,
    ) -> Result<u64, StorageError>;

    /// Ordering keys held back because one of their messages was dead-lettered.
    async fn parked_keys(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
    ) -> Result<Vec<String>, StorageError>;

    /// Lets a parked key flow again; false if it was not parked.
    async fn resume_key(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        key: &str,
    ) -> Result<bool, StorageError>;

    /// Moves the subscription: messages before the target count as acked, the
    /// rest as never delivered. Leases, retries and dead letters are dropped.
    async fn seek(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        target: SeekTarget,
    ) -> Result<(), StorageError>;

    /// Forgets any working copy this node keeps of the partition's
    /// subscription state, so the next call reloads it from the backend.
    /// Called when ownership of the partition moves away: while another node
    /// owns it, the copy here goes stale. A backend whose state lives only in
    /// this process (memory) keeps nothing apart from the truth: no-op.
    async fn release_partition(&self, partition: &PartitionRef) {
        let _ = partition;
    }
}

/// A complete storage backend.
pub trait Storage: MessageLog + SubscriptionState {}

impl<T: MessageLog + SubscriptionState> Storage for T {}

//! [`SubscriptionState`]: what each subscription has leased, acked and must
//! redeliver, per partition.

use async_trait::async_trait;
use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};

use super::{
    AckOutcome, Backlog, CopiedDeadLetter, DeadLetter, DeliveryPolicy, DeliveryRef, LeaseOutcome,
    LeaseRequest, Nack, PartitionRef, RedriveFilter, SeekTarget, StorageError,
};

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
///   [`FAIRNESS_PERIOD`](super::FAIRNESS_PERIOD)th delivery takes the oldest, so low priorities never starve;
/// - a message is not delivered before its `deliver_at`, nor at or after its `expire_at`;
/// - a message dead-lettered is in the dead-letter outbox from the same step
///   on, until [`SubscriptionState::dead_letters_copied`] takes it out.
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

    /// Up to `max` dead letters whose copy in the dead-letter topic is not
    /// stored yet (the outbox), oldest offset first.
    async fn dead_letter_outbox(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError>;

    /// Takes dead letters whose copy is stored out of the outbox; a copy of
    /// an earlier death than the current one changes nothing.
    async fn dead_letters_copied(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        copied: &[CopiedDeadLetter],
    ) -> Result<(), StorageError>;

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

    /// Forgets the working copy of one subscription's state on the
    /// partition, keeping the other subscriptions' (and the leases they
    /// hold). Called when the subscription was deleted or created again
    /// under its name. No-op where the working copy is the truth.
    async fn release_subscription(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
    ) {
        let _ = (subscription, partition);
    }

    /// Writes what the working copies hold and the backend does not yet (the
    /// at-least-once leases a Redis owner keeps in memory), as the owner, so a
    /// clean restart delivers none of them again. Called on shutdown; a write
    /// that fails (fenced, Redis away) is logged and its leases are delivered
    /// again, as after a crash. No-op where the working copy is the truth.
    async fn write_held_state(&self) {}
}

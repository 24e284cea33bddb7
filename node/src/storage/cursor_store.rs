//! [`SubscriptionState`] for every backend that runs the shared [`Cursor`]:
//! written once here, over [`CursorStore`], the little each backend adds.
//!
//! A backend says how it reaches a subscription's cursor on one partition and
//! the log messages a call reads ([`CursorStore::with_cursor`]), how it leases
//! (Redis fetches messages in rounds), where a seek lands, and how it creates,
//! deletes and forgets cursors. Every other call is one step of the cursor,
//! the same on every backend.

use async_trait::async_trait;
use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};

use super::cursor::{Cursor, LogView};
use super::{
    AckOutcome, Backlog, CopiedDeadLetter, DeadLetter, DeliveryPolicy, DeliveryRef, LeaseOutcome,
    LeaseRequest, Nack, PartitionRef, RedriveFilter, SeekTarget, StorageError, SubscriptionState,
};

/// Which log messages a cursor step reads, so a backend that fetches messages
/// on demand loads exactly those (a backend holding the whole log ignores it).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reads<'a> {
    /// No message: the step changes or reports the cursor's own state.
    Nothing,
    /// The messages of these deliveries that are still leased (a nack that may
    /// dead-letter them).
    Leased(&'a [DeliveryRef]),
    /// The oldest unacknowledged message (a backlog's age).
    OldestUnacked,
    /// Up to `max` dead letters, lowest offset first.
    DeadLetters { max: usize },
    /// Up to `max` dead letters whose copy is pending, lowest offset first.
    Outbox { max: usize },
}

/// What a backend gives the shared [`SubscriptionState`] implementation.
#[async_trait]
pub(crate) trait CursorStore: Send + Sync + std::fmt::Debug {
    /// Runs `step` on `subscription`'s cursor on one partition, over a view of
    /// the log holding at least what `reads` names; what `step` changed is
    /// durable (as the backend's storage is) when this returns.
    async fn with_cursor<T: Send>(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        reads: Reads<'_>,
        step: impl for<'c, 'l> FnOnce(&'c mut Cursor, &'l dyn LogView) -> T + Send,
    ) -> Result<T, StorageError>;

    /// [`SubscriptionState::lease`].
    async fn lease_cursor(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError>;

    /// The offset `target` names in the partition's log.
    async fn seek_offset(&self, at: &PartitionRef, target: SeekTarget)
    -> Result<u64, StorageError>;

    /// [`SubscriptionState::create_subscription`].
    async fn create_cursors(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError>;

    /// [`SubscriptionState::delete_subscription`].
    async fn delete_cursors(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
    ) -> Result<(), StorageError>;

    /// [`SubscriptionState::release_partition`].
    async fn release_cursors(&self, at: &PartitionRef);

    /// [`SubscriptionState::release_subscription`].
    async fn release_cursor(&self, subscription: &SubscriptionName, at: &PartitionRef);

    /// [`SubscriptionState::write_held_state`].
    async fn write_held_cursors(&self) {}
}

#[async_trait]
impl<S: CursorStore> SubscriptionState for S {
    async fn create_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError> {
        self.create_cursors(subscription, topic, partitions, start)
            .await
    }

    async fn delete_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
    ) -> Result<(), StorageError> {
        self.delete_cursors(subscription, topic, partitions).await
    }

    async fn lease(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError> {
        self.lease_cursor(subscription, at, request).await
    }

    async fn ack(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        deliveries: &[DeliveryRef],
        now_millis: u64,
        exact: bool,
    ) -> Result<AckOutcome, StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.ack(deliveries, now_millis, exact)
        })
        .await
    }

    async fn extend(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        deliveries: &[DeliveryRef],
        deadline_millis: u64,
        now_millis: u64,
    ) -> Result<(), StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.extend(deliveries, deadline_millis, now_millis)
        })
        .await
    }

    async fn nack(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        deliveries: &[DeliveryRef],
        nack: &Nack,
        now_millis: u64,
        policy: DeliveryPolicy,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        // Messages are read only when a nack may dead-letter them.
        let reads = match policy.max_attempts {
            Some(_) => Reads::Leased(deliveries),
            None => Reads::Nothing,
        };
        self.with_cursor(subscription, at, reads, |cursor, log| {
            cursor.nack(log, deliveries, nack, now_millis, policy)
        })
        .await
    }

    async fn backlog(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        now_millis: u64,
    ) -> Result<Backlog, StorageError> {
        self.with_cursor(subscription, at, Reads::OldestUnacked, |cursor, log| {
            cursor.backlog(log, now_millis)
        })
        .await
    }

    async fn next_wakeup(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        now_millis: u64,
    ) -> Result<Option<u64>, StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.next_wakeup(now_millis)
        })
        .await
    }

    async fn dead_letters(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        let reads = Reads::DeadLetters { max };
        self.with_cursor(subscription, at, reads, |cursor, log| {
            cursor.dead_letters(log, max)
        })
        .await
    }

    async fn dead_letter_outbox(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        self.with_cursor(subscription, at, Reads::Outbox { max }, |cursor, log| {
            cursor.outbox(log, max)
        })
        .await
    }

    async fn dead_letters_copied(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        copied: &[CopiedDeadLetter],
    ) -> Result<(), StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.copied(copied);
        })
        .await
    }

    async fn redrive(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        filter: RedriveFilter,
        max: usize,
        now_millis: u64,
        spacing_millis: u64,
    ) -> Result<u64, StorageError> {
        // Every dead letter: the filter may pass over any of them.
        let reads = Reads::DeadLetters { max: usize::MAX };
        self.with_cursor(subscription, at, reads, |cursor, log| {
            cursor.redrive(log, filter, max, now_millis, spacing_millis)
        })
        .await
    }

    async fn parked_keys(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
    ) -> Result<Vec<String>, StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.parked_keys()
        })
        .await
    }

    async fn resume_key(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        key: &str,
    ) -> Result<bool, StorageError> {
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.resume_key(key)
        })
        .await
    }

    async fn seek(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        target: SeekTarget,
    ) -> Result<(), StorageError> {
        let offset = self.seek_offset(at, target).await?;
        self.with_cursor(subscription, at, Reads::Nothing, |cursor, _| {
            cursor.seek(offset);
        })
        .await
    }

    async fn release_partition(&self, at: &PartitionRef) {
        self.release_cursors(at).await;
    }

    async fn release_subscription(&self, subscription: &SubscriptionName, at: &PartitionRef) {
        self.release_cursor(subscription, at).await;
    }

    async fn write_held_state(&self) {
        self.write_held_cursors().await;
    }
}

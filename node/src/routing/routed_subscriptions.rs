//! [`SubscriptionState`] on [`RoutedStorage`]: subscription-level calls on
//! the local backend, partition calls on the owner.

use async_trait::async_trait;
use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};

use super::routed_storage::expect_reply;
use super::{Route, RoutedStorage, StorageCall, StorageReply};
use crate::storage::{
    AckOutcome, Backlog, CopiedDeadLetter, DeadLetter, DeliveryPolicy, DeliveryRef, LeaseOutcome,
    LeaseRequest, Nack, PartitionRef, RedriveFilter, SeekTarget, StorageError, SubscriptionState,
};

#[async_trait]
impl SubscriptionState for RoutedStorage {
    async fn create_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError> {
        // The caller found the topic in the metadata this node applied; its
        // storage may not have been given the topic yet.
        self.placement.caught_up_to(0).await?;
        self.local
            .create_subscription(subscription, topic, partitions, start)
            .await?;
        // Every other owner creates it now too (its backend may be its own
        // memory): once this returns, no owner can append a message that the
        // subscription's start position should include but its cursor skips.
        // Owners as the leader knows them, not as this node last applied.
        self.placement.refresh().await?;
        let mut owners = std::collections::BTreeSet::new();
        for partition in 0..partitions {
            let at = PartitionRef {
                topic: topic.clone(),
                partition,
            };
            let Route::Remote { node, .. } = self.placement.route(&at) else {
                continue;
            };
            if !owners.insert(node) {
                continue;
            }
            let call = StorageCall::CreateSubscription {
                subscription: subscription.clone(),
                partition: at,
                partitions,
                start,
            };
            expect_reply!(self.dispatch(call).await?, "create_subscription", StorageReply::Done => ())?;
        }
        Ok(())
    }

    async fn delete_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
    ) -> Result<(), StorageError> {
        self.local
            .delete_subscription(subscription, topic, partitions)
            .await
    }

    async fn lease(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError> {
        let call = StorageCall::Lease {
            subscription: subscription.clone(),
            partition: partition.clone(),
            request,
        };
        expect_reply!(self.dispatch(call).await?, "lease", StorageReply::Leased(outcome) => outcome)
    }

    async fn ack(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        now_millis: u64,
        exact: bool,
    ) -> Result<AckOutcome, StorageError> {
        let call = StorageCall::Ack {
            subscription: subscription.clone(),
            partition: partition.clone(),
            deliveries: deliveries.to_vec(),
            now_millis,
            exact,
        };
        expect_reply!(self.dispatch(call).await?, "ack", StorageReply::Acked(outcome) => outcome)
    }

    async fn extend(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        deadline_millis: u64,
        now_millis: u64,
    ) -> Result<(), StorageError> {
        let call = StorageCall::Extend {
            subscription: subscription.clone(),
            partition: partition.clone(),
            deliveries: deliveries.to_vec(),
            deadline_millis,
            now_millis,
        };
        expect_reply!(self.dispatch(call).await?, "extend", StorageReply::Done => ())
    }

    async fn nack(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        deliveries: &[DeliveryRef],
        nack: &Nack,
        now_millis: u64,
        policy: DeliveryPolicy,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        let call = StorageCall::Nack {
            subscription: subscription.clone(),
            partition: partition.clone(),
            deliveries: deliveries.to_vec(),
            nack: nack.clone(),
            now_millis,
            policy,
        };
        expect_reply!(self.dispatch(call).await?, "nack", StorageReply::DeadLetters(dead) => dead)
    }

    async fn backlog(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        now_millis: u64,
    ) -> Result<Backlog, StorageError> {
        let call = StorageCall::Backlog {
            subscription: subscription.clone(),
            partition: partition.clone(),
            now_millis,
        };
        expect_reply!(self.dispatch(call).await?, "backlog", StorageReply::Backlog(backlog) => backlog)
    }

    async fn next_wakeup(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        now_millis: u64,
    ) -> Result<Option<u64>, StorageError> {
        let call = StorageCall::NextWakeup {
            subscription: subscription.clone(),
            partition: partition.clone(),
            now_millis,
        };
        expect_reply!(self.dispatch(call).await?, "next_wakeup", StorageReply::Wakeup(at) => at)
    }

    async fn dead_letters(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        let call = StorageCall::DeadLetters {
            subscription: subscription.clone(),
            partition: partition.clone(),
            max,
        };
        expect_reply!(self.dispatch(call).await?, "dead_letters", StorageReply::DeadLetters(dead) => dead)
    }

    async fn dead_letter_outbox(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        let call = StorageCall::DeadLetterOutbox {
            subscription: subscription.clone(),
            partition: partition.clone(),
            max,
        };
        expect_reply!(self.dispatch(call).await?, "dead_letter_outbox", StorageReply::DeadLetters(dead) => dead)
    }

    async fn dead_letters_copied(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        copied: &[CopiedDeadLetter],
    ) -> Result<(), StorageError> {
        let call = StorageCall::DeadLettersCopied {
            subscription: subscription.clone(),
            partition: partition.clone(),
            copied: copied.to_vec(),
        };
        expect_reply!(self.dispatch(call).await?, "dead_letters_copied", StorageReply::Done => ())
    }

    async fn redrive(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        filter: RedriveFilter,
        max: usize,
        now_millis: u64,
        spacing_millis: u64,
    ) -> Result<u64, StorageError> {
        let call = StorageCall::Redrive {
            subscription: subscription.clone(),
            partition: partition.clone(),
            filter,
            max,
            now_millis,
            spacing_millis,
        };
        expect_reply!(self.dispatch(call).await?, "redrive", StorageReply::Count(count) => count)
    }

    async fn parked_keys(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
    ) -> Result<Vec<String>, StorageError> {
        let call = StorageCall::ParkedKeys {
            subscription: subscription.clone(),
            partition: partition.clone(),
        };
        expect_reply!(self.dispatch(call).await?, "parked_keys", StorageReply::Keys(keys) => keys)
    }

    async fn resume_key(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        key: &str,
    ) -> Result<bool, StorageError> {
        let call = StorageCall::ResumeKey {
            subscription: subscription.clone(),
            partition: partition.clone(),
            key: key.to_owned(),
        };
        expect_reply!(self.dispatch(call).await?, "resume_key", StorageReply::Resumed(resumed) => resumed)
    }

    async fn seek(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
        target: SeekTarget,
    ) -> Result<(), StorageError> {
        let call = StorageCall::Seek {
            subscription: subscription.clone(),
            partition: partition.clone(),
            target,
        };
        expect_reply!(self.dispatch(call).await?, "seek", StorageReply::Done => ())
    }

    /// Forwarded to the local backend: the working copy lives where this
    /// node ran the partition's calls as its owner.
    async fn release_partition(&self, partition: &PartitionRef) {
        self.local.release_partition(partition).await;
    }

    /// Forwarded to the local backend, like `release_partition`.
    async fn release_subscription(
        &self,
        subscription: &SubscriptionName,
        partition: &PartitionRef,
    ) {
        self.local
            .release_subscription(subscription, partition)
            .await;
    }

    /// Forwarded to the local backend, where this node's working copies are.
    async fn write_held_state(&self) {
        self.local.write_held_state().await;
    }
}

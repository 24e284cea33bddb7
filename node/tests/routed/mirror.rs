//! The calling node's backend in routed-storage tests: it mirrors topics and
//! subscriptions to the owners and refuses every per-partition call.

use std::sync::Arc;

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::subscription::StartPosition;
use cluster::{Retention, SubscriptionName, TopicName};
use node::storage::memory::MemoryStorage;
use node::storage::{
    AckOutcome, AppendOptions, Backlog, CopiedDeadLetter, DeadLetter, DeliveryPolicy, DeliveryRef,
    Epoch, FencedLog, LeaseOutcome, LeaseRequest, MessageLog, Nack, NewMessage, PartitionOffsets,
    PartitionRef, RedriveFilter, SeekTarget, StorageError, StoredMessage, SubscriptionState,
};

/// The calling node's backend. Topic and subscription calls reach every
/// owner's backend, as the cluster keeps every node's storage in step with
/// the metadata; a per-partition call here is a routing bug, so it fails.
#[derive(Debug)]
pub struct Mirror {
    owners: Vec<Arc<MemoryStorage>>,
}

impl Mirror {
    pub fn of(owners: Vec<Arc<MemoryStorage>>) -> Self {
        Self { owners }
    }
}

fn ran_here<T>() -> Result<T, StorageError> {
    Err(StorageError::Unsupported {
        reason: "a per-partition call ran on the calling node".to_owned(),
    })
}

#[async_trait]
impl MessageLog for Mirror {
    fn ack_level(&self) -> AckLevel {
        AckLevel::Memory
    }

    async fn check_options(
        &self,
        _: &TopicName,
        _: u32,
        _: &AppendOptions,
    ) -> Result<(), StorageError> {
        Ok(())
    }

    async fn create_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        for owner in &self.owners {
            owner.create_topic(topic, partitions).await?;
        }
        Ok(())
    }

    async fn delete_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        for owner in &self.owners {
            owner.delete_topic(topic, partitions).await?;
        }
        Ok(())
    }

    async fn append_with(
        &self,
        _: &PartitionRef,
        _: Vec<NewMessage>,
        _: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        ran_here()
    }

    async fn read(
        &self,
        _: &PartitionRef,
        _: u64,
        _: usize,
    ) -> Result<Vec<Arc<StoredMessage>>, StorageError> {
        ran_here()
    }

    async fn offsets(&self, _: &PartitionRef) -> Result<PartitionOffsets, StorageError> {
        ran_here()
    }

    async fn trim(&self, _: &PartitionRef, _: &Retention, _: u64) -> Result<u64, StorageError> {
        ran_here()
    }
}

#[async_trait]
impl FencedLog for Mirror {
    async fn append_fenced(
        &self,
        _: &PartitionRef,
        _: Epoch,
        _: Vec<NewMessage>,
        _: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        ran_here()
    }
}

#[async_trait]
impl SubscriptionState for Mirror {
    async fn create_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError> {
        for owner in &self.owners {
            owner
                .create_subscription(subscription, topic, partitions, start)
                .await?;
        }
        Ok(())
    }

    async fn delete_subscription(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
    ) -> Result<(), StorageError> {
        for owner in &self.owners {
            owner
                .delete_subscription(subscription, topic, partitions)
                .await?;
        }
        Ok(())
    }

    async fn lease(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError> {
        ran_here()
    }

    async fn ack(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: &[DeliveryRef],
        _: u64,
        _: bool,
    ) -> Result<AckOutcome, StorageError> {
        ran_here()
    }

    async fn extend(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: &[DeliveryRef],
        _: u64,
        _: u64,
    ) -> Result<(), StorageError> {
        ran_here()
    }

    async fn nack(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: &[DeliveryRef],
        _: &Nack,
        _: u64,
        _: DeliveryPolicy,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        ran_here()
    }

    async fn backlog(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: u64,
    ) -> Result<Backlog, StorageError> {
        ran_here()
    }

    async fn next_wakeup(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: u64,
    ) -> Result<Option<u64>, StorageError> {
        ran_here()
    }

    async fn dead_letters(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        ran_here()
    }

    async fn dead_letter_outbox(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        ran_here()
    }

    async fn dead_letters_copied(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: &[CopiedDeadLetter],
    ) -> Result<(), StorageError> {
        ran_here()
    }

    async fn redrive(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: RedriveFilter,
        _: usize,
        _: u64,
        _: u64,
    ) -> Result<u64, StorageError> {
        ran_here()
    }

    async fn parked_keys(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
    ) -> Result<Vec<String>, StorageError> {
        ran_here()
    }

    async fn resume_key(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: &str,
    ) -> Result<bool, StorageError> {
        ran_here()
    }

    async fn seek(
        &self,
        _: &SubscriptionName,
        _: &PartitionRef,
        _: SeekTarget,
    ) -> Result<(), StorageError> {
        ran_here()
    }
}

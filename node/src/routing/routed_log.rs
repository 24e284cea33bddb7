//! [`MessageLog`] on [`RoutedStorage`]: topic-level calls on the local
//! backend, partition calls on the owner.

use std::sync::Arc;

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::{Retention, TopicName};

use super::routed_storage::expect_reply;
use super::{RoutedStorage, StorageCall, StorageReply};
use crate::storage::{
    AppendOptions, MessageLog, NewMessage, PartitionOffsets, PartitionRef, StorageError,
    StoredMessage,
};

#[async_trait]
impl MessageLog for RoutedStorage {
    fn ack_level(&self) -> AckLevel {
        self.local.ack_level()
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.local.ping().await
    }

    async fn check_options(
        &self,
        topic: &TopicName,
        partitions: u32,
        options: &AppendOptions,
    ) -> Result<(), StorageError> {
        self.local.check_options(topic, partitions, options).await
    }

    async fn create_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        self.local.create_topic(topic, partitions).await
    }

    async fn delete_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        self.local.delete_topic(topic, partitions).await
    }

    /// Appends on the owner, with the owner's epoch (see the module docs:
    /// the owner's epoch is authoritative) and the owner's ack level.
    async fn append(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<u64>, StorageError> {
        let call = StorageCall::Append {
            partition: partition.clone(),
            messages,
        };
        expect_reply!(self.dispatch(call).await?, "append", StorageReply::Appended(offsets) => offsets)
    }

    /// Appends on the owner, with the owner's epoch.
    async fn append_with(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        self.append_keeping(partition, messages, options, false)
            .await
            .map_err(|(e, _)| e)
    }

    /// Hands the messages back without a copy when the owner is another
    /// node (the call only borrowed them); copies them when this node owns
    /// the partition, as the default does.
    async fn append_with_returning(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, (StorageError, Option<Vec<NewMessage>>)> {
        self.append_keeping(partition, messages, options, true)
            .await
    }

    async fn read(
        &self,
        partition: &PartitionRef,
        from: u64,
        max: usize,
    ) -> Result<Vec<Arc<StoredMessage>>, StorageError> {
        let call = StorageCall::Read {
            partition: partition.clone(),
            from,
            max,
        };
        expect_reply!(self.dispatch(call).await?, "read", StorageReply::Messages(messages) => messages)
    }

    async fn offsets(&self, partition: &PartitionRef) -> Result<PartitionOffsets, StorageError> {
        let call = StorageCall::Offsets {
            partition: partition.clone(),
        };
        expect_reply!(self.dispatch(call).await?, "offsets", StorageReply::Offsets(offsets) => offsets)
    }

    async fn trim(
        &self,
        partition: &PartitionRef,
        retention: &Retention,
        now_millis: u64,
    ) -> Result<u64, StorageError> {
        let call = StorageCall::Trim {
            partition: partition.clone(),
            retention: *retention,
            now_millis,
        };
        expect_reply!(self.dispatch(call).await?, "trim", StorageReply::Count(count) => count)
    }
}

impl RoutedStorage {
    /// An append on the owner ([`RoutedStorage::dispatch_keeping`]): on an
    /// error the messages come back when the owner is another node, or when
    /// `keep_local` (at the price of a copy).
    async fn append_keeping(
        &self,
        partition: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
        keep_local: bool,
    ) -> Result<Vec<u64>, (StorageError, Option<Vec<NewMessage>>)> {
        let call = StorageCall::AppendWith {
            partition: partition.clone(),
            messages,
            options: options.clone(),
        };
        match self.dispatch_keeping(call, keep_local).await {
            Ok(reply) => {
                expect_reply!(reply, "append_with", StorageReply::Appended(offsets) => offsets)
                    .map_err(|e| (e, None))
            }
            Err((e, call)) => Err((
                e,
                match call {
                    Some(StorageCall::AppendWith { messages, .. }) => Some(messages),
                    _ => None,
                },
            )),
        }
    }
}

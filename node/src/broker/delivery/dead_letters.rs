//! [`DeadLetters`]: copies of dead-lettered messages, with their lineage, in
//! the subscription's dead-letter topic. Listing and redriving them is
//! `super::redrive`.
//!
//! A dead-lettered message stays in its source partition, marked dead for that
//! subscription only. Its copy in the dead-letter topic is for inspection and
//! for other consumers; a redrive makes the source message deliverable again to
//! this subscription alone, so other subscriptions of the topic never see it twice.

use std::sync::Arc;

use api::types::{PublishMessage, PublishRequest, message_id};
use cluster::TopicName;

use super::target::DeliveryTarget;
use crate::broker::BrokerError;
use crate::broker::metadata_view::MetadataView;
use crate::broker::publish::Publisher;
use crate::storage::{CopiedDeadLetter, DeadLetter, IdempotentAppend, Storage};
use crate::telemetry::{Metrics, context, messaging};

/// Attribute names of a dead letter's lineage, added to the copy in the
/// dead-letter topic.
pub mod lineage {
    pub const SOURCE_TOPIC: &str = "pubsubgo.sourceTopic";
    pub const SOURCE_PARTITION: &str = "pubsubgo.sourcePartition";
    pub const SOURCE_OFFSET: &str = "pubsubgo.sourceOffset";
    pub const SOURCE_MESSAGE_ID: &str = "pubsubgo.sourceMessageId";
    pub const SUBSCRIPTION: &str = "pubsubgo.subscription";
    pub const DELIVERY_ATTEMPTS: &str = "pubsubgo.deliveryAttempts";
    pub const LAST_ERROR: &str = "pubsubgo.lastError";
    /// Google Pub/Sub's names, which its client libraries read.
    pub const GOOGLE_DELIVERY_COUNT: &str = "CloudPubSubDeadLetterSourceDeliveryCount";
    pub const GOOGLE_SUBSCRIPTION: &str = "CloudPubSubDeadLetterSourceSubscription";
    pub const GOOGLE_TOPIC_PUBLISH_TIME: &str = "CloudPubSubDeadLetterSourceTopicPublishTime";
}

/// How long storage remembers a copy's idempotency key. A copy stored but not
/// yet taken out of the outbox (its owner died in between) is copied again by
/// the next drain, seconds later, under the same key: stored once as long as
/// that happens within this window.
const KEY_KEPT_MILLIS: u64 = 15 * 60 * 1000;

/// Most dead letters one drain takes from one partition's outbox.
const DRAIN_BATCH: usize = 100;

/// Where dead letters go when a delivery runs out of attempts: the
/// subscription's dead-letter topic, through the publisher.
///
/// Storage puts each dead letter in the partition's dead-letter outbox in the
/// same step that takes it out of delivery
/// ([`SubscriptionState::dead_letter_outbox`](crate::storage::SubscriptionState::dead_letter_outbox)),
/// so a pending copy survives the node that dead-lettered it. The copy is
/// tried at once; what stays in the outbox (the dead-letter topic's owner was
/// down or moving, or this node died) is copied by [`DeadLetters::drain`],
/// which the metadata leader's upkeep runs every few seconds. Every try of one
/// dead letter carries the same idempotency key, so it is stored once.
#[derive(Debug)]
pub struct DeadLetters {
    metadata: MetadataView,
    publisher: Arc<Publisher>,
    storage: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
}

impl DeadLetters {
    pub fn new(
        metadata: MetadataView,
        publisher: Arc<Publisher>,
        storage: Arc<dyn Storage>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            metadata,
            publisher,
            storage,
            metrics,
        }
    }

    /// Copies messages just dead-lettered into the subscription's dead-letter
    /// topic. A copy that fails stays in the outbox for [`DeadLetters::drain`].
    pub async fn publish(&self, target: &DeliveryTarget, partition: u32, dead: Vec<DeadLetter>) {
        if dead.is_empty() {
            return;
        }
        self.metrics.dead_lettered.inc_by(dead.len() as u64);
        // Open while the first try appends: each joins its message's trace.
        let _spans: Vec<_> = match &target.subscription.config.dead_letter_policy {
            Some(policy) => dead
                .iter()
                .filter_map(|letter| {
                    let id = message_id(partition, letter.message.offset);
                    messaging::dead_letter(
                        target.subscription.name.as_str(),
                        policy.dead_letter_topic.as_str(),
                        messaging::Delivered {
                            id: &id,
                            attempt: letter.attempts,
                            created: context::from_attributes(&letter.message.message.attributes),
                        },
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        if let Err(error) = self.copy(target, partition, &dead).await {
            tracing::debug!(
                subscription = %target.subscription.name,
                partition,
                %error,
                "dead letters stay in the outbox until a drain copies them"
            );
        }
    }

    /// Copies what the outbox of each of the subscription's partitions holds,
    /// then takes the stored copies out of it.
    pub async fn drain(&self, target: &DeliveryTarget) -> Result<(), BrokerError> {
        let mut first_error = None;
        for partition in 0..target.topic.config.partitions {
            let at = target.partition(partition);
            let result = match self
                .storage
                .dead_letter_outbox(&target.subscription.name, &at, DRAIN_BATCH)
                .await
            {
                Ok(pending) => self.copy(target, partition, &pending).await,
                Err(error) => Err(error.into()),
            };
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stores each dead letter's copy (none without a dead-letter policy)
    /// and takes the stored ones out of the outbox; the first failure.
    async fn copy(
        &self,
        target: &DeliveryTarget,
        partition: u32,
        dead: &[DeadLetter],
    ) -> Result<(), BrokerError> {
        if dead.is_empty() {
            return Ok(());
        }
        let mut copied = Vec::with_capacity(dead.len());
        let mut failure = None;
        for letter in dead {
            let done = CopiedDeadLetter {
                offset: letter.message.offset,
                dead_at_millis: letter.dead_at_millis,
            };
            let Some(policy) = &target.subscription.config.dead_letter_policy else {
                copied.push(done);
                continue;
            };
            let message = self.lineage_copy(target, partition, letter);
            let key = format!(
                "dead-letter:{}:{partition}:{}:{}",
                target.subscription.name, done.offset, done.dead_at_millis
            );
            match self.try_copy(&policy.dead_letter_topic, message, key).await {
                Ok(()) => copied.push(done),
                Err(error) => {
                    self.metrics.dead_letter_failures.inc();
                    failure.get_or_insert(error);
                }
            }
        }
        if !copied.is_empty() {
            self.storage
                .dead_letters_copied(
                    &target.subscription.name,
                    &target.partition(partition),
                    &copied,
                )
                .await?;
        }
        failure.map_or(Ok(()), Err)
    }

    /// One try at storing one copy in the dead-letter topic.
    async fn try_copy(
        &self,
        topic: &TopicName,
        message: PublishMessage,
        key: String,
    ) -> Result<(), BrokerError> {
        let dlq = self.metadata.topic(topic)?;
        let idempotent = IdempotentAppend {
            key,
            ttl_millis: dlq.config.dedup_window_millis.max(KEY_KEPT_MILLIS),
        };
        let request = PublishRequest {
            messages: vec![message],
        };
        self.publisher
            .append_batch(&dlq, request, Some(idempotent))
            .await
            .map(drop)
    }

    fn lineage_copy(
        &self,
        target: &DeliveryTarget,
        partition: u32,
        letter: &DeadLetter,
    ) -> PublishMessage {
        let source = &letter.message.message;
        let mut attributes = source.attributes.clone();
        let offset = letter.message.offset;
        for (key, value) in [
            (lineage::SOURCE_TOPIC, target.topic.name.to_string()),
            (lineage::SOURCE_PARTITION, partition.to_string()),
            (lineage::SOURCE_OFFSET, offset.to_string()),
            (lineage::SOURCE_MESSAGE_ID, message_id(partition, offset)),
            (lineage::SUBSCRIPTION, target.subscription.name.to_string()),
            (lineage::DELIVERY_ATTEMPTS, letter.attempts.to_string()),
            (lineage::GOOGLE_DELIVERY_COUNT, letter.attempts.to_string()),
            (
                lineage::GOOGLE_SUBSCRIPTION,
                target.subscription.name.to_string(),
            ),
            (
                lineage::GOOGLE_TOPIC_PUBLISH_TIME,
                api::timestamp::Timestamp(source.publish_time_millis).to_string(),
            ),
        ] {
            attributes.insert(key.to_owned(), value);
        }
        if let Some(reason) = &letter.reason {
            attributes.insert(lineage::LAST_ERROR.to_owned(), reason.clone());
        }
        PublishMessage {
            data: api::data::Data(source.data.clone()),
            attributes,
            ordering_key: source.ordering_key.clone(),
            priority: Some(source.priority),
            ..Default::default()
        }
    }
}

//! [`DeadLetters`]: copies of dead-lettered messages, with their lineage, in
//! the subscription's dead-letter topic. Listing and redriving them is
//! `super::redrive`.
//!
//! A dead-lettered message stays in its source partition, marked dead for that
//! subscription only. Its copy in the dead-letter topic is for inspection and
//! for other consumers; a redrive makes the source message deliverable again to
//! this subscription alone, so other subscriptions of the topic never see it twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::types::{PublishMessage, PublishRequest};
use cluster::TopicName;

use super::target::DeliveryTarget;
use crate::broker::BrokerError;
use crate::broker::metadata_view::MetadataView;
use crate::broker::publish::Publisher;
use crate::storage::{DeadLetter, IdempotentAppend};
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

/// How long a dead letter's copy is retried before it is given up (logged
/// and counted in `pubsubgo_dead_letter_publish_failures_total`).
pub const RETRY_FOR: Duration = Duration::from_secs(600);

/// How long storage remembers a copy's idempotency key: past the retries.
const KEY_KEPT_MILLIS: u64 = 15 * 60 * 1000;

/// One batch of dead letters' copies, as every try sends it.
#[derive(Debug)]
struct Copy {
    topic: TopicName,
    messages: Vec<PublishMessage>,
    key: String,
    subscription: String,
}

/// Where dead letters go when a delivery runs out of attempts: the
/// subscription's dead-letter topic, through the publisher.
#[derive(Debug)]
pub struct DeadLetters {
    metadata: MetadataView,
    publisher: Arc<Publisher>,
    metrics: Arc<Metrics>,
}

impl DeadLetters {
    pub fn new(metadata: MetadataView, publisher: Arc<Publisher>, metrics: Arc<Metrics>) -> Self {
        Self {
            metadata,
            publisher,
            metrics,
        }
    }

    /// Copies dead letters into the subscription's dead-letter topic. The
    /// first try is inline; if it fails (the topic's owner is moving, say) the
    /// copy is retried in the background with backoff for
    /// [`RETRY_FOR`]. Every try carries the same idempotency key, so a try
    /// whose outcome was unknown is stored once. A copy still not stored then
    /// is logged and counted; the message stays dead (listable, redrivable).
    pub async fn publish(&self, target: &DeliveryTarget, partition: u32, dead: Vec<DeadLetter>) {
        if dead.is_empty() {
            return;
        }
        self.metrics.dead_lettered.inc_by(dead.len() as u64);
        let Some(policy) = &target.subscription.config.dead_letter_policy else {
            return;
        };
        // Open while the first try appends: each joins its message's trace.
        let _spans: Vec<_> = dead
            .iter()
            .filter_map(|letter| {
                let id = format!("{partition}-{}", letter.message.offset);
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
            .collect();
        let copy = Copy {
            topic: policy.dead_letter_topic.clone(),
            messages: dead
                .iter()
                .map(|letter| self.lineage_copy(target, partition, letter))
                .collect(),
            key: format!("dead-letters-{}", uuid::Uuid::now_v7()),
            subscription: target.subscription.name.to_string(),
        };
        if self.try_copy(&copy).await.is_ok() {
            return;
        }
        let (metadata, publisher, metrics) = (
            self.metadata.clone(),
            self.publisher.clone(),
            self.metrics.clone(),
        );
        tokio::spawn(async move {
            let this = Self::new(metadata, publisher, metrics);
            let started = Instant::now();
            let mut pause = Duration::from_millis(100);
            let error = loop {
                tokio::time::sleep(pause).await;
                match this.try_copy(&copy).await {
                    Ok(()) => return,
                    Err(error) if started.elapsed() >= RETRY_FOR => break error,
                    Err(_) => pause = (pause * 2).min(Duration::from_secs(5)),
                }
            };
            this.metrics
                .dead_letter_failures
                .inc_by(copy.messages.len() as u64);
            tracing::warn!(
                subscription = %copy.subscription,
                dead_letter_topic = %copy.topic,
                %error,
                "could not publish dead letters within {RETRY_FOR:?}; they stay redrivable"
            );
        });
    }

    /// One try at storing `copy` in its topic.
    async fn try_copy(&self, copy: &Copy) -> Result<(), BrokerError> {
        let dlq = self.metadata.topic(&copy.topic)?;
        let idempotent = IdempotentAppend {
            key: copy.key.clone(),
            ttl_millis: dlq.config.dedup_window_millis.max(KEY_KEPT_MILLIS),
        };
        let request = PublishRequest {
            messages: copy.messages.clone(),
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
            (lineage::SOURCE_MESSAGE_ID, format!("{partition}-{offset}")),
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

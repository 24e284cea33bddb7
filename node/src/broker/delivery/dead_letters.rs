//! [`DeadLetters`]: copies of dead-lettered messages, with their lineage, in
//! the subscription's dead-letter topic. Listing and redriving them is
//! `super::redrive`.
//!
//! A dead-lettered message stays in its source partition, marked dead for that
//! subscription only. Its copy in the dead-letter topic is for inspection and
//! for other consumers; a redrive makes the source message deliverable again to
//! this subscription alone, so other subscriptions of the topic never see it twice.

use std::sync::Arc;

use api::types::{PublishMessage, PublishRequest};

use super::target::DeliveryTarget;
use crate::broker::metadata_view::MetadataView;
use crate::broker::publish::Publisher;
use crate::storage::DeadLetter;
use crate::telemetry::Metrics;
use crate::telemetry::{context, messaging};

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

    /// Copies dead letters into the subscription's dead-letter topic. A failure
    /// is logged and counted; the message stays dead (listable, redrivable).
    pub async fn publish(&self, target: &DeliveryTarget, partition: u32, dead: Vec<DeadLetter>) {
        if dead.is_empty() {
            return;
        }
        self.metrics.dead_lettered.inc_by(dead.len() as u64);
        let Some(policy) = &target.subscription.config.dead_letter_policy else {
            return;
        };
        let messages = dead
            .iter()
            .map(|letter| self.lineage_copy(target, partition, letter))
            .collect();
        // Open while the copies are appended: each joins its message's trace.
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
        let result = match self.metadata.topic(&policy.dead_letter_topic) {
            Ok(dlq) => {
                self.publisher
                    .append_batch(&dlq, PublishRequest { messages }, None)
                    .await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            self.metrics.dead_letter_failures.inc_by(dead.len() as u64);
            tracing::warn!(
                subscription = %target.subscription.name,
                dead_letter_topic = %policy.dead_letter_topic,
                %error,
                "could not publish dead letters; they stay redrivable"
            );
        }
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

//! Dead letters: publishing them to the dead-letter topic with their lineage,
//! listing them, redriving them to the one subscription they came from, and
//! resuming ordering keys parked behind them.
//!
//! A dead-lettered message stays in its source partition, marked dead for that
//! subscription only. Its copy in the dead-letter topic is for inspection and
//! for other consumers; a redrive makes the source message deliverable again to
//! this subscription alone, so other subscriptions of the topic never see it twice.

use api::limits::{
    DEFAULT_LIST_DEAD_LETTERS, DEFAULT_REDRIVE_MESSAGES, DEFAULT_REDRIVE_RATE,
    MAX_LIST_DEAD_LETTERS, MAX_REDRIVE_MESSAGES, MAX_REDRIVE_RATE,
};
use api::timestamp::Timestamp;
use api::types::{self, PublishMessage, PublishRequest, RedriveRequest};

use super::delivery::{DeliveryTarget, api_message};
use super::{Broker, BrokerError, partition_refs};
use crate::storage::{DeadLetter, RedriveFilter};

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

impl Broker {
    /// Copies dead letters into the subscription's dead-letter topic. A failure
    /// is logged and counted; the message stays dead (listable, redrivable).
    pub(super) async fn publish_dead_letters(
        &self,
        target: &DeliveryTarget,
        partition: u32,
        dead: Vec<DeadLetter>,
    ) {
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
        let result = match self.topic(&policy.dead_letter_topic) {
            Ok(dlq) => {
                self.append_batch(&dlq, PublishRequest { messages }, None)
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

    /// Up to `max` dead letters of the subscription, by partition then offset.
    pub async fn list_dead_letters(
        &self,
        name: &str,
        max: Option<u32>,
    ) -> Result<types::ListDeadLettersResponse, BrokerError> {
        let max = max.unwrap_or(DEFAULT_LIST_DEAD_LETTERS);
        if !(1..=MAX_LIST_DEAD_LETTERS).contains(&max) {
            return Err(BrokerError::invalid(format!(
                "maxMessages must be 1 to {MAX_LIST_DEAD_LETTERS}, got {max}"
            )));
        }
        let target = self.delivery_target(name).await?;
        let mut dead_letters = Vec::new();
        for at in partition_refs(&target.topic) {
            let remaining = max as usize - dead_letters.len();
            if remaining == 0 {
                break;
            }
            let letters = self
                .storage
                .dead_letters(&target.subscription.name, &at, remaining)
                .await?;
            dead_letters.extend(letters.into_iter().map(|letter| types::DeadLetter {
                message: api_message(at.partition, &letter.message),
                delivery_attempts: letter.attempts,
                reason: letter.reason,
                dead_letter_time: Timestamp(letter.dead_at_millis).to_string(),
            }));
        }
        Ok(types::ListDeadLettersResponse { dead_letters })
    }

    /// Makes dead letters deliverable again to this subscription only, at most
    /// `ratePerSecond` per partition, with their attempts starting over.
    pub async fn redrive(&self, name: &str, request: RedriveRequest) -> Result<u64, BrokerError> {
        let max = request.max_messages.unwrap_or(DEFAULT_REDRIVE_MESSAGES);
        if !(1..=MAX_REDRIVE_MESSAGES).contains(&max) {
            return Err(BrokerError::invalid(format!(
                "maxMessages must be 1 to {MAX_REDRIVE_MESSAGES}, got {max}"
            )));
        }
        let rate = request.rate_per_second.unwrap_or(DEFAULT_REDRIVE_RATE);
        if !(1..=MAX_REDRIVE_RATE).contains(&rate) {
            return Err(BrokerError::invalid(format!(
                "ratePerSecond must be 1 to {MAX_REDRIVE_RATE}, got {rate}"
            )));
        }
        let filter = RedriveFilter {
            min_attempts: request.min_attempts,
            published_after_millis: parse_time(
                "publishedAfter",
                request.published_after.as_deref(),
            )?,
            published_before_millis: parse_time(
                "publishedBefore",
                request.published_before.as_deref(),
            )?,
        };
        let target = self.delivery_target(name).await?;
        let now = self.clock.now_millis();
        let spacing = 1000 / u64::from(rate);
        let mut redriven = 0;
        for at in partition_refs(&target.topic) {
            let remaining = u64::from(max) - redriven;
            if remaining == 0 {
                break;
            }
            redriven += self
                .storage
                .redrive(
                    &target.subscription.name,
                    &at,
                    filter,
                    remaining as usize,
                    now,
                    spacing,
                )
                .await?;
        }
        target.wake();
        Ok(redriven)
    }

    /// Lets a parked ordering key flow again.
    pub async fn resume_ordering_key(&self, name: &str, key: &str) -> Result<bool, BrokerError> {
        let target = self.delivery_target(name).await?;
        let partition =
            cluster::partitioning::partition_for_key(key, target.topic.config.partitions);
        let resumed = self
            .storage
            .resume_key(&target.subscription.name, &target.partition(partition), key)
            .await?;
        target.wake();
        Ok(resumed)
    }
}

/// Parses an optional RFC 3339 field.
pub(super) fn parse_time(field: &str, text: Option<&str>) -> Result<Option<u64>, BrokerError> {
    text.map(|t| {
        t.parse::<Timestamp>()
            .map(|ts| ts.0)
            .map_err(|e| BrokerError::invalid(format!("{field}: {e}")))
    })
    .transpose()
}

//! Dead letters from the subscription's side: listing them, redriving them to
//! the one subscription they came from, and resuming ordering keys parked
//! behind them.
//!
//! A dead-lettered message stays in its source partition, marked dead for that
//! subscription only; a redrive makes it deliverable again to this
//! subscription alone, so other subscriptions of the topic never see it twice.

use api::limits::{
    DEFAULT_LIST_DEAD_LETTERS, DEFAULT_REDRIVE_MESSAGES, DEFAULT_REDRIVE_RATE,
    MAX_LIST_DEAD_LETTERS, MAX_REDRIVE_MESSAGES, MAX_REDRIVE_RATE,
};
use api::timestamp::Timestamp;
use api::types::{self, RedriveRequest};

use super::Delivery;
use crate::broker::convert;
use crate::broker::error::BrokerError;
use crate::broker::metadata_view::partition_refs;
use crate::storage::RedriveFilter;

impl Delivery {
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
        let target = self.target(name).await?;
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
                message: convert::api_message(at.partition, &letter.message),
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
            published_after_millis: convert::parse_time(
                "publishedAfter",
                request.published_after.as_deref(),
            )?,
            published_before_millis: convert::parse_time(
                "publishedBefore",
                request.published_before.as_deref(),
            )?,
        };
        let target = self.target(name).await?;
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
        let target = self.target(name).await?;
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

//! One [`Broker::lease_batch`]: asking partitions for leases and gathering
//! what they gave.

use api::types::ReceivedMessage;

use super::delivery::DeliveryTarget;
use super::{Broker, BrokerError};
use crate::storage::{LeaseRequest, StorageError};

pub(super) struct Lease<'a> {
    broker: &'a Broker,
    target: &'a DeliveryTarget,
    max: usize,
    now: u64,
    deadline_millis: u64,
    /// What the partitions gave so far.
    pub(super) out: Vec<ReceivedMessage>,
    unavailable: Option<StorageError>,
    /// A partition failed otherwise; no more are asked.
    pub(super) failed: Option<StorageError>,
}

impl<'a> Lease<'a> {
    pub(super) fn new(broker: &'a Broker, target: &'a DeliveryTarget, max: usize) -> Self {
        let now = broker.clock.now_millis();
        let deadline_seconds = u64::from(target.subscription.config.ack_deadline_seconds);
        Self {
            broker,
            target,
            max,
            now,
            deadline_millis: now + deadline_seconds * 1000,
            out: Vec::new(),
            unavailable: None,
            failed: None,
        }
    }

    /// Leases up to `max` messages of one partition.
    pub(super) async fn take(
        &self,
        partition: u32,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>, StorageError> {
        let broker = self.broker;
        let at = self.target.partition(partition);
        // Read before the lease: if the partition moves meanwhile, its ack
        // ids carry the older epoch and are refused (redelivered), never
        // taken for another owner's message at the same offset.
        let epoch = broker.metadata.partition_epoch(&at);
        let request = LeaseRequest {
            max_messages: max,
            now_millis: self.now,
            deadline_millis: self.deadline_millis,
            policy: self.target.policy(),
        };
        let outcome = broker
            .storage
            .lease(&self.target.subscription.name, &at, request)
            .await?;
        broker.metrics.expired.inc_by(outcome.expired);
        broker
            .publish_dead_letters(self.target, partition, outcome.dead_lettered)
            .await;
        Ok(outcome
            .leased
            .into_iter()
            .map(|l| broker.received(partition, epoch, l, self.now))
            .collect())
    }

    /// Keeps what one partition gave.
    pub(super) fn settle(
        &mut self,
        partition: u32,
        answer: Result<Vec<ReceivedMessage>, StorageError>,
    ) {
        match answer {
            Ok(leased) => self.out.extend(leased),
            // One partition's owner being away must not stop the others'
            // deliveries; the error counts only if nothing was served.
            Err(e) if e.is_unavailable() => {
                tracing::debug!(partition, error = %e, "partition skipped in a lease");
                self.unavailable.get_or_insert(e);
            }
            Err(e) => {
                tracing::warn!(partition, error = %e, "lease failed on a partition");
                self.failed.get_or_insert(e);
            }
        }
    }

    /// What was leased, or why nothing was. What some partitions leased is
    /// handed out even when another failed, never dropped (at-most-once marked
    /// it acked when leasing).
    pub(super) fn finish(self) -> Result<Vec<ReceivedMessage>, BrokerError> {
        if !self.out.is_empty() {
            return Ok(self.out);
        }
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        match self.unavailable {
            Some(e) if self.max > 0 => Err(e.into()),
            _ => Ok(self.out),
        }
    }
}

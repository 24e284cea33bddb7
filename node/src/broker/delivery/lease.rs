//! [`Lease`]: what the partitions gave one lease of a batch, gathered.

use api::types::ReceivedMessage;

use super::target::DeliveryTarget;
use crate::broker::error::BrokerError;
use crate::storage::{LeaseRequest, StorageError};

/// One [`Delivery::lease_batch`](super::Delivery::lease_batch): the time and
/// deadline its partitions lease with, and what they gave so far.
#[derive(Debug)]
pub(super) struct Lease {
    max: usize,
    now_millis: u64,
    deadline_millis: u64,
    /// What the partitions gave so far.
    out: Vec<ReceivedMessage>,
    unavailable: Option<StorageError>,
    /// A partition failed otherwise; no more are asked.
    failed: Option<StorageError>,
}

impl Lease {
    pub(super) fn new(target: &DeliveryTarget, max: usize, now_millis: u64) -> Self {
        let deadline_seconds = u64::from(target.subscription.config.ack_deadline_seconds);
        Self {
            max,
            now_millis,
            deadline_millis: now_millis + deadline_seconds * 1000,
            out: Vec::new(),
            unavailable: None,
            failed: None,
        }
    }

    /// How many more messages the next partition should be asked for; `None`
    /// once the lease is done (full, or a partition failed).
    pub(super) fn missing(&self) -> Option<usize> {
        let missing = self.max.saturating_sub(self.out.len());
        if (self.max > 0 && missing == 0) || self.failed.is_some() {
            return None;
        }
        Some(missing)
    }

    /// What to ask a partition of `target` for: up to `max` messages.
    pub(super) fn request(&self, target: &DeliveryTarget, max: usize) -> LeaseRequest {
        LeaseRequest {
            max_messages: max,
            now_millis: self.now_millis,
            deadline_millis: self.deadline_millis,
            policy: target.policy(),
        }
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

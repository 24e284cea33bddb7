//! Ack, nack and modifyAckDeadline: the ways a delivery ends or lasts longer.

use std::collections::BTreeMap;

use api::limits::{MAX_NACK_DELAY_SECONDS, MAX_NACK_REASON_BYTES};
use cluster::subscription::{DeliveryMode, MAX_ACK_DEADLINE_SECONDS, validate_ack_deadline};

use super::Delivery;
use super::target::DeliveryTarget;
use crate::broker::ack_id::AckId;
use crate::broker::error::BrokerError;
use crate::storage::{DeliveryRef, Nack};
use crate::telemetry::messaging;
use tracing::Instrument;

/// Deliveries named by ack ids, by partition.
type DeliveriesByPartition = BTreeMap<u32, Vec<DeliveryRef>>;

impl Delivery {
    /// Acknowledges deliveries; returns how many messages were newly acked.
    /// In exactly-once mode, acks for expired leases or old attempts fail with
    /// [`BrokerError::AckExpired`] naming them (the rest are acked).
    pub async fn acknowledge(&self, name: &str, ack_ids: &[String]) -> Result<u64, BrokerError> {
        let span = messaging::settle(name, "ack", ack_ids.len());
        self.acknowledge_traced(name, ack_ids)
            .instrument(span)
            .await
    }

    async fn acknowledge_traced(&self, name: &str, ack_ids: &[String]) -> Result<u64, BrokerError> {
        let target = self.target(name).await?;
        let exact = target.subscription.config.delivery_mode == DeliveryMode::ExactlyOnce;
        #[cfg(feature = "test-breaks")]
        if exact && crate::test_breaks::active("ack-dropped") {
            return Ok(0);
        }
        let now = self.clock.now_millis();
        let mut newly = 0;
        let (groups, mut stale) = self.parse_ack_ids(&target, ack_ids).await?;
        if !exact {
            // Outside exactly-once, an ack that names no current delivery is
            // ignored, as acks of expired leases are.
            stale.clear();
        }
        // The partitions' acks run at once, so their round trips overlap.
        let target = &target;
        let acks = groups
            .into_iter()
            .map(|(partition, deliveries)| async move {
                let at = target.partition(partition);
                let epoch = self.metadata.partition_epoch(&at);
                let outcome = self
                    .storage
                    .ack(&target.subscription.name, &at, &deliveries, now, exact)
                    .await;
                (partition, epoch, outcome)
            });
        let mut failed = None;
        for (partition, epoch, outcome) in futures::future::join_all(acks).await {
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(e) => {
                    failed.get_or_insert(e);
                    continue;
                }
            };
            newly += outcome.newly_acked;
            stale.extend(outcome.stale.iter().map(|d| {
                AckId {
                    partition,
                    offset: d.offset,
                    attempt: d.attempt,
                    epoch,
                }
                .to_string()
            }));
        }
        self.metrics.consumed.inc_by(newly);
        // Acks free ordering keys, which may make held-back messages deliverable.
        if target.subscription.config.enable_message_ordering {
            target.wake();
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        if stale.is_empty() {
            Ok(newly)
        } else {
            Err(BrokerError::AckExpired { ack_ids: stale })
        }
    }

    /// Sets a new deadline, counted from now; 0 nacks.
    pub async fn modify_ack_deadline(
        &self,
        name: &str,
        ack_ids: &[String],
        seconds: u32,
    ) -> Result<(), BrokerError> {
        if seconds == 0 {
            return self.nack(name, ack_ids, None, None).await;
        }
        let span = messaging::settle(name, "modify_ack_deadline", ack_ids.len());
        self.extend_deadline(name, ack_ids, seconds)
            .instrument(span)
            .await
    }

    async fn extend_deadline(
        &self,
        name: &str,
        ack_ids: &[String],
        seconds: u32,
    ) -> Result<(), BrokerError> {
        validate_ack_deadline(seconds).map_err(|_| {
            BrokerError::invalid(format!(
                "ackDeadlineSeconds must be 0 (nack) or 10 to {MAX_ACK_DEADLINE_SECONDS}, got {seconds}"
            ))
        })?;
        let target = self.target(name).await?;
        let now = self.clock.now_millis();
        let deadline = now + u64::from(seconds) * 1000;
        for (partition, deliveries) in self.parse_ack_ids(&target, ack_ids).await?.0 {
            self.storage
                .extend(
                    &target.subscription.name,
                    &target.partition(partition),
                    &deliveries,
                    deadline,
                    now,
                )
                .await?;
        }
        Ok(())
    }

    /// Ends the leases: the messages are delivered again after `delay_seconds`,
    /// or the retry policy's backoff, or dead-lettered when out of attempts.
    pub async fn nack(
        &self,
        name: &str,
        ack_ids: &[String],
        delay_seconds: Option<u32>,
        reason: Option<String>,
    ) -> Result<(), BrokerError> {
        let span = messaging::settle(name, "nack", ack_ids.len());
        self.nack_traced(name, ack_ids, delay_seconds, reason)
            .instrument(span)
            .await
    }

    async fn nack_traced(
        &self,
        name: &str,
        ack_ids: &[String],
        delay_seconds: Option<u32>,
        reason: Option<String>,
    ) -> Result<(), BrokerError> {
        if let Some(delay) = delay_seconds
            && delay > MAX_NACK_DELAY_SECONDS
        {
            return Err(BrokerError::invalid(format!(
                "delaySeconds must be 0 to {MAX_NACK_DELAY_SECONDS}, got {delay}"
            )));
        }
        if reason
            .as_ref()
            .is_some_and(|r| r.len() > MAX_NACK_REASON_BYTES)
        {
            return Err(BrokerError::invalid(format!(
                "reason must be at most {MAX_NACK_REASON_BYTES} bytes"
            )));
        }
        let target = self.target(name).await?;
        let nack = Nack {
            delay_millis: delay_seconds.map(|s| u64::from(s) * 1000),
            reason,
        };
        let now = self.clock.now_millis();
        for (partition, deliveries) in self.parse_ack_ids(&target, ack_ids).await?.0 {
            let dead = self
                .storage
                .nack(
                    &target.subscription.name,
                    &target.partition(partition),
                    &deliveries,
                    &nack,
                    now,
                    target.policy(),
                )
                .await?;
            self.dead_letters.publish(&target, partition, dead).await;
        }
        target.wake();
        Ok(())
    }

    /// Parses every ack id before anything is changed, so one bad id fails
    /// the whole request and nothing is half-applied. Groups deliveries by
    /// partition; ids issued under an older owner epoch of their partition
    /// (it moved since) come back apart, as stale: they name a delivery that
    /// no longer exists.
    ///
    /// Epochs only grow, so an id whose epoch is newer than this node's view
    /// of its partition was issued by an owner this node has not heard of
    /// yet: it waits for a read index before judging (or answers `503` when
    /// it cannot have one), rather than calling a current delivery stale.
    async fn parse_ack_ids(
        &self,
        target: &DeliveryTarget,
        ack_ids: &[String],
    ) -> Result<(DeliveriesByPartition, Vec<String>), BrokerError> {
        if ack_ids.is_empty() {
            return Err(BrokerError::invalid("ackIds must not be empty"));
        }
        if ack_ids.len() > api::limits::MAX_ACK_IDS {
            return Err(BrokerError::invalid(format!(
                "at most {} ack ids per request, got {}",
                api::limits::MAX_ACK_IDS,
                ack_ids.len()
            )));
        }
        let mut ids = Vec::with_capacity(ack_ids.len());
        for raw in ack_ids {
            let id: AckId = raw.parse().map_err(|reason| BrokerError::InvalidAckId {
                ack_id: raw.clone(),
                reason,
            })?;
            if id.partition >= target.topic.config.partitions {
                return Err(BrokerError::InvalidAckId {
                    ack_id: raw.clone(),
                    reason: "names a partition the topic does not have",
                });
            }
            ids.push((raw, id));
        }
        let epochs_now = |ids: &[(&String, AckId)]| {
            let mut epochs = BTreeMap::new();
            for (_, id) in ids {
                epochs.entry(id.partition).or_insert_with(|| {
                    self.metadata
                        .partition_epoch(&target.partition(id.partition))
                });
            }
            epochs
        };
        let mut epochs = epochs_now(&ids);
        if ids.iter().any(|(_, id)| id.epoch > epochs[&id.partition]) {
            self.metadata.store().barrier().await?;
            epochs = epochs_now(&ids);
        }
        let mut groups: BTreeMap<u32, Vec<DeliveryRef>> = BTreeMap::new();
        let mut stale = Vec::new();
        for (raw, id) in ids {
            let current = epochs[&id.partition];
            if id.epoch == current {
                groups.entry(id.partition).or_default().push(id.delivery());
            } else {
                stale.push(raw.clone());
            }
        }
        Ok((groups, stale))
    }
}

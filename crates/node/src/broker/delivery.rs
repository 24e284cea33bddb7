//! The delivery path: lease messages to pulls and streams, and take acks back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api::timestamp::Timestamp;
use api::types::{Message, ReceivedMessage};
use cluster::subscription::{MAX_ACK_DEADLINE_SECONDS, validate_ack_deadline};
use cluster::{MemberId, Subscription, SubscriptionName, Topic};
use tokio::sync::Notify;

use super::ack_id::AckId;
use super::{Broker, BrokerError, SINGLE_NODE_EPOCH, partition_refs};
use crate::storage::{DeliveryRef, LeaseRequest, Leased, PartitionRef};

/// A subscription resolved for delivery: its config, its topic, and the waker
/// that fires when the topic may have something new.
#[derive(Debug, Clone)]
pub struct DeliveryTarget {
    pub subscription: Subscription,
    pub topic: Topic,
    /// On a partitioned subscription, the group member served (see `groups`).
    pub member: Option<MemberId>,
    waker: Arc<Notify>,
}

impl Broker {
    /// Resolves a subscription name for pulls and streams.
    pub fn delivery_target(&self, name: &str) -> Result<DeliveryTarget, BrokerError> {
        let subscription = self.subscription(&SubscriptionName::new(name)?)?;
        let topic = self.topic(&subscription.config.topic)?;
        let waker = self.waker(&topic.name);
        Ok(DeliveryTarget {
            subscription,
            topic,
            member: None,
            waker,
        })
    }

    /// Leases up to `max` messages, waiting up to `wait` for the first one.
    pub async fn pull(
        &self,
        name: &str,
        max: u32,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        let target = self.delivery_target(name)?;
        self.pull_target(&target, max, wait).await
    }

    /// Leases up to `max` messages of `target`, waiting up to `wait` for the first one.
    pub async fn pull_target(
        &self,
        target: &DeliveryTarget,
        max: u32,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        let give_up = tokio::time::Instant::now() + wait;
        loop {
            let woken = target.waker.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let messages = self.lease_batch(target, max as usize).await?;
            if !messages.is_empty() || tokio::time::Instant::now() >= give_up {
                return Ok(messages);
            }
            let wake_at = match self.next_expiry(target).await? {
                Some(millis) => self.clock.instant_at(millis).min(give_up),
                None => give_up,
            };
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep_until(wake_at) => {}
                () = self.shutdown.cancelled() => return Ok(Vec::new()),
            }
        }
    }

    /// Leases up to `max` deliverable messages now from the partitions of the
    /// target's [`DeliveryScope`](super::groups::DeliveryScope), visiting them
    /// from a rotating start so no partition is always served last.
    pub async fn lease_batch(
        &self,
        target: &DeliveryTarget,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        let now = self.clock.now_millis();
        let request = LeaseRequest {
            max_messages: max,
            now_millis: now,
            deadline_millis: now
                + u64::from(target.subscription.config.ack_deadline_seconds) * 1000,
            ordered: target.subscription.config.enable_message_ordering,
        };
        let scope = self.delivery_scope(target, max)?;
        let partitions = scope.partitions.len();
        let first = self.round_robin.load(std::sync::atomic::Ordering::Relaxed) as usize;
        let mut out = Vec::new();
        for step in 0..partitions {
            if out.len() >= max {
                break;
            }
            let at = PartitionRef {
                topic: target.topic.name.clone(),
                partition: scope.partitions[(first + step) % partitions],
            };
            let request = LeaseRequest {
                max_messages: max - out.len(),
                ..request
            };
            let leased = self
                .storage
                .lease(&target.subscription.name, &at, request)
                .await?;
            out.extend(
                leased
                    .into_iter()
                    .map(|l| self.received(at.partition, l, now)),
            );
        }
        scope.stamp(&mut out);
        Ok(out)
    }

    /// The earliest lease expiry of the subscription, in Unix milliseconds.
    pub async fn next_expiry(&self, target: &DeliveryTarget) -> Result<Option<u64>, BrokerError> {
        let mut earliest: Option<u64> = None;
        for at in partition_refs(&target.topic) {
            if let Some(t) = self
                .storage
                .next_expiry(&target.subscription.name, &at)
                .await?
            {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        Ok(earliest)
    }

    /// Waits until the subscription's topic may have new deliverable messages,
    /// a lease expires, or `until` passes.
    pub async fn wait_for_work(
        &self,
        target: &DeliveryTarget,
        until: Option<tokio::time::Instant>,
    ) {
        let woken = target.waker.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let expiry = self.next_expiry(target).await.ok().flatten();
        let wake_at = [expiry.map(|millis| self.clock.instant_at(millis)), until]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match wake_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut woken => {}
            () = sleep => {}
            () = self.shutdown.cancelled() => {}
        }
    }

    /// Acknowledges deliveries; returns how many messages were newly acked.
    pub async fn acknowledge(&self, name: &str, ack_ids: &[String]) -> Result<u64, BrokerError> {
        let target = self.delivery_target(name)?;
        let mut newly = 0;
        for (partition, deliveries) in parse_ack_ids(&target, ack_ids)? {
            let at = PartitionRef {
                topic: target.topic.name.clone(),
                partition,
            };
            newly += self
                .storage
                .ack(&target.subscription.name, &at, &deliveries)
                .await?;
        }
        self.metrics.consumed.inc_by(newly);
        // Acks free ordering keys, which may make held-back messages deliverable.
        if target.subscription.config.enable_message_ordering {
            target.waker.notify_waiters();
        }
        Ok(newly)
    }

    /// Sets a new deadline, counted from now; 0 makes the messages deliverable at once.
    pub async fn modify_ack_deadline(
        &self,
        name: &str,
        ack_ids: &[String],
        seconds: u32,
    ) -> Result<(), BrokerError> {
        if seconds != 0 {
            validate_ack_deadline(seconds).map_err(|_| {
                BrokerError::invalid(format!(
                    "ackDeadlineSeconds must be 0 (nack) or 10 to {MAX_ACK_DEADLINE_SECONDS}, got {seconds}"
                ))
            })?;
        }
        let target = self.delivery_target(name)?;
        let now = self.clock.now_millis();
        let deadline = now + u64::from(seconds) * 1000;
        for (partition, deliveries) in parse_ack_ids(&target, ack_ids)? {
            let at = PartitionRef {
                topic: target.topic.name.clone(),
                partition,
            };
            self.storage
                .extend(&target.subscription.name, &at, &deliveries, deadline, now)
                .await?;
        }
        if seconds == 0 {
            target.waker.notify_waiters();
        }
        Ok(())
    }

    /// Makes the messages deliverable again at once.
    pub async fn nack(&self, name: &str, ack_ids: &[String]) -> Result<(), BrokerError> {
        self.modify_ack_deadline(name, ack_ids, 0).await
    }

    fn received(&self, partition: u32, leased: Leased, now: u64) -> ReceivedMessage {
        let stored = &leased.message;
        let message = &stored.message;
        self.metrics.delivered.inc();
        if leased.attempt == 1 {
            let age = now.saturating_sub(message.publish_time_millis);
            self.metrics.latency.observe(age as f64 / 1000.0);
        } else {
            self.metrics.redelivered.inc();
        }
        let ack_id = AckId {
            partition,
            offset: stored.offset,
            attempt: leased.attempt,
            epoch: SINGLE_NODE_EPOCH,
        };
        ReceivedMessage {
            ack_id: ack_id.to_string(),
            message: Message {
                message_id: format!("{partition}-{}", stored.offset),
                data: api::data::Data(message.data.clone()),
                attributes: message.attributes.clone(),
                ordering_key: message.ordering_key.clone(),
                priority: message.priority,
                publish_time: Timestamp(message.publish_time_millis).to_string(),
                partition,
                offset: stored.offset,
            },
            delivery_attempt: leased.attempt,
            generation: None,
        }
    }
}

/// Parses every ack id before anything is changed, so one bad id fails the
/// whole request and nothing is half-applied. Groups deliveries by partition.
fn parse_ack_ids(
    target: &DeliveryTarget,
    ack_ids: &[String],
) -> Result<BTreeMap<u32, Vec<DeliveryRef>>, BrokerError> {
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
    let mut groups: BTreeMap<u32, Vec<DeliveryRef>> = BTreeMap::new();
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
        groups.entry(id.partition).or_default().push(id.delivery());
    }
    Ok(groups)
}

//! [`Delivery`]: the delivery path. Lease messages to pulls, streams and push
//! dispatchers; take acks, nacks and deadline changes back; seek; dead letters.
//!
//! - this file: the delivery part itself, resolving subscriptions to
//!   [`DeliveryTarget`]s, long polls and the lease of a batch.
//! - [`target`]: [`DeliveryTarget`], a subscription resolved for delivery.
//! - `lease`: one batch's lease, gathered over the partitions.
//! - `acks`: ack, nack and modifyAckDeadline.
//! - `seek`: moving a subscription to a time or an end.
//! - [`dead_letters`]: dead letters copied to the dead-letter topic with their lineage.
//! - `redrive`: listing and redriving dead letters, resuming parked ordering keys.
//!
//! On a partitioned subscription, which partitions a lease may use comes from
//! [`crate::broker::groups::scope`].

mod acks;
pub mod dead_letters;
mod lease;
mod redrive;
mod seek;
pub mod target;

use std::sync::Arc;
use std::time::Duration;

use api::types::ReceivedMessage;
use cluster::{SubscriptionName, TopicName};
use tokio_util::sync::CancellationToken;

use self::dead_letters::DeadLetters;
use self::lease::Lease;
pub use self::target::DeliveryTarget;
use crate::broker::ack_id::AckId;
use crate::broker::convert;
use crate::broker::error::BrokerError;
use crate::broker::groups::scope::delivery_scope;
use crate::broker::metadata_view::{MetadataView, partition_refs};
use crate::broker::round_robin::RoundRobin;
use crate::broker::wakers::{TopicWaker, TopicWakers};
use crate::clock::Clock;
use crate::storage::{Epoch, LeaseRequest, Leased, Storage, StorageError};
use crate::telemetry::Metrics;
use crate::telemetry::{context, messaging};

/// Hands out messages and takes them back. Owns no state of its own beyond
/// handles: leases, cursors and dead letters live in storage, so any node can
/// serve any subscription.
#[derive(Debug)]
pub struct Delivery {
    metadata: MetadataView,
    storage: Arc<dyn Storage>,
    clock: Clock,
    metrics: Arc<Metrics>,
    wakers: Arc<TopicWakers>,
    /// Where the next lease starts its round of partitions: one further with
    /// each lease this node makes (of any subscription), so no partition is
    /// always asked last, and consumers leasing at the same time start on
    /// different partitions instead of queueing on one.
    lease_turn: RoundRobin,
    dead_letters: DeadLetters,
    shutdown: CancellationToken,
}

impl Delivery {
    pub fn new(
        metadata: MetadataView,
        storage: Arc<dyn Storage>,
        clock: Clock,
        metrics: Arc<Metrics>,
        wakers: Arc<TopicWakers>,
        dead_letters: DeadLetters,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            metadata,
            storage,
            clock,
            metrics,
            wakers,
            lease_turn: RoundRobin::default(),
            dead_letters,
            shutdown,
        }
    }

    /// The broker's clock, for deadlines kept beside a delivery (streams).
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The subscription `name` resolved for delivery; a subscription created
    /// through another node moments ago is found too.
    pub async fn target(&self, name: &str) -> Result<DeliveryTarget, BrokerError> {
        self.metadata.fresh(|| self.target_now(name)).await
    }

    fn target_now(&self, name: &str) -> Result<DeliveryTarget, BrokerError> {
        let subscription = self.metadata.subscription(&SubscriptionName::new(name)?)?;
        let topic = self.metadata.topic(&subscription.config.topic)?;
        let waker = self.wakers.waker(&topic.name);
        Ok(DeliveryTarget::new(subscription, topic, waker))
    }

    /// Notified when `topic` may have new deliverable messages (a publish, a
    /// nack). Register interest (`Notified::enable`) before looking for work,
    /// so a wake-up between the look and the wait is not lost.
    pub fn topic_waker(&self, topic: &TopicName) -> Arc<TopicWaker> {
        self.wakers.waker(topic)
    }

    /// Leases up to `max` messages, waiting up to `wait` for the first one.
    pub async fn pull(
        &self,
        name: &str,
        max: u32,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        let target = self.target(name).await?;
        self.pull_target(&target, max, wait).await
    }

    /// Leases up to `max` messages of `target`, waiting up to `wait` for the first one.
    pub async fn pull_target(
        &self,
        target: &DeliveryTarget,
        max: u32,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        target.check_pull_allowed()?;
        let give_up = tokio::time::Instant::now() + wait;
        // Held for the whole pull: owners elsewhere wake it (see `wakers`).
        let _remote = self.wakers.watch_remote(&target.topic);
        loop {
            let woken = target.waker().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let messages = self.lease_batch(target, max as usize).await?;
            if !messages.is_empty() || tokio::time::Instant::now() >= give_up {
                return Ok(messages);
            }
            let wake_at = match self.next_wakeup(target).await? {
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
    /// target's [`DeliveryScope`](crate::broker::groups::scope::DeliveryScope),
    /// visiting them from a rotating start so no partition is always served
    /// last. `max` 0 only processes expired leases (dead-lettering those out
    /// of attempts).
    ///
    /// Partitions are asked one after another until `max` are leased, not all
    /// at once: on Redis every partition asked costs a round trip and a write,
    /// so asking fewer beats overlapping them (measured: 4 concurrent shares
    /// made 4× the writes and lowered throughput).
    pub async fn lease_batch(
        &self,
        target: &DeliveryTarget,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        target.note_look();
        // A member this node does not know yet may have joined through another
        // node: "unknown member" is answered only after a read index.
        let scope = self
            .metadata
            .fresh(|| delivery_scope(self.metadata.store(), target, max))
            .await?;
        let n = scope.partitions.len();
        // A scope without partitions leases nothing below; max(1) keeps the turn's modulo defined.
        let turn_of = u32::try_from(n).unwrap_or(u32::MAX).max(1);
        let first = self.lease_turn.next(turn_of) as usize;
        let mut lease = Lease::new(target, max, self.clock.now_millis());
        for step in 0..n {
            let Some(missing) = lease.missing() else {
                break;
            };
            let partition = scope.partitions[(first + step) % n];
            let request = lease.request(target, missing);
            let answer = self.lease_partition(target, partition, request).await;
            lease.settle(partition, answer);
        }
        let mut out = lease.finish()?;
        scope.stamp(&mut out);
        messaging::received(
            target.subscription.name.as_str(),
            out.iter().map(|m| messaging::Delivered {
                id: &m.message.message_id,
                attempt: m.delivery_attempt,
                created: context::from_attributes(&m.message.attributes),
            }),
        );
        Ok(out)
    }

    /// Writes the delivery state storage holds only in this node's memory
    /// ([`crate::storage::SubscriptionState::write_held_state`]); on shutdown.
    pub async fn write_held_state(&self) {
        self.storage.write_held_state().await;
    }

    /// Copies what the subscription's dead-letter outboxes hold
    /// ([`DeadLetters::drain`]).
    pub async fn drain_dead_letters(&self, target: &DeliveryTarget) -> Result<(), BrokerError> {
        self.dead_letters.drain(target).await
    }

    /// Leases from one partition.
    async fn lease_partition(
        &self,
        target: &DeliveryTarget,
        partition: u32,
        request: LeaseRequest,
    ) -> Result<Vec<ReceivedMessage>, StorageError> {
        let at = target.partition(partition);
        // Read before the lease: if the partition moves meanwhile, its ack
        // ids carry the older epoch and are refused (redelivered), never
        // taken for another owner's message at the same offset.
        let epoch = self.metadata.partition_epoch(&at);
        let now = request.now_millis;
        let outcome = self
            .storage
            .lease(&target.subscription.name, &at, request)
            .await?;
        self.metrics.expired.inc_by(outcome.expired);
        self.dead_letters
            .publish(target, partition, outcome.dead_lettered)
            .await;
        Ok(outcome
            .leased
            .into_iter()
            .map(|l| self.received(partition, epoch, l, now))
            .collect())
    }

    /// The earliest future time something of the subscription may become
    /// deliverable (lease expiry, backoff, delay), in Unix milliseconds.
    pub async fn next_wakeup(&self, target: &DeliveryTarget) -> Result<Option<u64>, BrokerError> {
        let now = self.clock.now_millis();
        let mut earliest: Option<u64> = None;
        for at in partition_refs(&target.topic) {
            let wakeup = match self
                .storage
                .next_wakeup(&target.subscription.name, &at, now)
                .await
            {
                Ok(wakeup) => wakeup,
                // An unreachable owner's partition is looked at again when its
                // watch fails or the owner moves (both wake the waiters).
                Err(e) if e.is_unavailable() => None,
                Err(e) => return Err(e.into()),
            };
            if let Some(t) = wakeup {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        Ok(earliest)
    }

    /// Waits until the subscription's topic may have new deliverable messages
    /// (here or on another owner), a lease expires, a backoff ends, or
    /// `until` passes.
    ///
    /// A wake-up since the target last looked for work
    /// ([`Delivery::lease_batch`]) returns at once. A watch of another owner
    /// started here answers at once the first time, and that answer is
    /// relayed, so nothing published there before it is missed either.
    pub async fn wait_for_work(
        &self,
        target: &DeliveryTarget,
        until: Option<tokio::time::Instant>,
    ) {
        let _remote = self.wakers.watch_remote(&target.topic);
        let woken = target.waker().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if target.woken_since_look() {
            return;
        }
        let wakeup = self.next_wakeup(target).await.ok().flatten();
        let wake_at = [wakeup.map(|millis| self.clock.instant_at(millis)), until]
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

    fn received(&self, partition: u32, epoch: Epoch, leased: Leased, now: u64) -> ReceivedMessage {
        self.metrics.delivered.inc();
        if leased.attempt == 1 {
            let ready_since = leased
                .message
                .message
                .deliver_at_millis
                .map_or(leased.message.message.publish_time_millis, |at| at.get());
            self.metrics
                .latency
                .observe(now.saturating_sub(ready_since) as f64 / 1000.0);
        } else {
            self.metrics.redelivered.inc();
        }
        let ack_id = AckId {
            partition,
            offset: leased.message.offset,
            attempt: leased.attempt,
            epoch,
        };
        ReceivedMessage {
            ack_id: ack_id.encode(),
            message: convert::api_message(partition, &leased.message),
            delivery_attempt: leased.attempt,
            generation: None,
        }
    }
}

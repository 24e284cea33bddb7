//! One push subscription's delivery loop.
//!
//! Invariant: a slot (semaphore permit) is taken before a message is leased
//! and given back only after its request ended and the ack or nack was sent,
//! so at most `maxOutstanding` messages are leased to the endpoint at once.
//! That is also the bound of what a slow endpoint makes the node hold: no
//! queue grows behind the slots (nothing is leased without one), and the
//! messages in flight count in the node's memory budget (`push_in_flight`).

use std::sync::Arc;
use std::time::Duration;

use api::limits::counted_bytes;
use api::types::ReceivedMessage;
use cluster::{PushConfig, Subscription};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::sender::{Outcome, Sender, request_timeout};
use crate::broker::delivery::Delivery;
use crate::broker::delivery::target::DeliveryTarget;
use crate::overload::budget::{MemoryBudget, MemoryUse};
use crate::telemetry::Metrics;
use crate::telemetry::metrics::{PUSH_FAILURE, PUSH_SUCCESS};

/// How long to wait before leasing again after storage failed.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Delivers one push subscription until cancelled.
#[derive(Debug)]
pub struct Dispatcher {
    delivery: Arc<Delivery>,
    metrics: Arc<Metrics>,
    memory: Arc<MemoryBudget>,
    sender: Sender,
    subscription: Subscription,
    push: PushConfig,
    cancel: CancellationToken,
}

impl Dispatcher {
    /// `None` when `subscription` is not a push subscription.
    pub fn new(
        delivery: Arc<Delivery>,
        metrics: Arc<Metrics>,
        memory: Arc<MemoryBudget>,
        sender: Sender,
        subscription: Subscription,
        cancel: CancellationToken,
    ) -> Option<Self> {
        let push = subscription.config.push.clone()?;
        Some(Self {
            delivery,
            metrics,
            memory,
            sender,
            subscription,
            push,
            cancel,
        })
    }

    /// Leases and pushes until cancelled, then abandons what is in flight
    /// (nacking it) and returns once every request task has ended.
    pub async fn run(self) {
        let name = self.subscription.name.to_string();
        let target = match self.delivery.target(&name).await {
            Ok(target) => target,
            Err(error) => {
                // Deleted between the supervisor's read and now.
                tracing::debug!(subscription = %name, %error, "push subscription is gone");
                return;
            }
        };
        tracing::info!(
            subscription = %name,
            endpoint = %self.push.endpoint,
            max_outstanding = self.push.max_outstanding,
            "push dispatcher started"
        );
        let https = self.push.endpoint.get(..8);
        if https.is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://")) {
            // reqwest is built without a TLS backend (default features off).
            tracing::warn!(
                subscription = %name,
                "this build has no TLS support: every request to an https:// endpoint fails and is nacked"
            );
        }
        let slots = Arc::new(Semaphore::new(self.push.max_outstanding as usize));
        let in_flight = TaskTracker::new();
        let this = Arc::new(self);
        while let Some(batch) = this.free_slots(&slots).await {
            this.lease_and_push(&target, batch, &in_flight).await;
        }
        in_flight.close();
        in_flight.wait().await;
        tracing::info!(subscription = %name, "push dispatcher stopped");
    }

    /// Waits for at least one free slot and takes every free one; `None` once cancelled.
    async fn free_slots(&self, slots: &Arc<Semaphore>) -> Option<Vec<OwnedSemaphorePermit>> {
        let first = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return None,
            permit = slots.clone().acquire_owned() => permit.ok()?,
        };
        let mut batch = vec![first];
        // Every free slot, so one lease call can fill them all.
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            batch.push(permit);
        }
        Some(batch)
    }

    /// Leases up to one message per slot and starts a request for each; when
    /// nothing is deliverable, waits for new work (or cancellation).
    async fn lease_and_push(
        self: &Arc<Self>,
        target: &DeliveryTarget,
        batch: Vec<OwnedSemaphorePermit>,
        in_flight: &TaskTracker,
    ) {
        // Registered before leasing, so a publish or nack between the lease and
        // the wait below still wakes this loop.
        let waker = self.delivery.topic_waker(&target.topic.name);
        let woken = waker.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match self.delivery.lease_batch(target, batch.len()).await {
            Ok(messages) if !messages.is_empty() => {
                // Slots left over (fewer messages than slots) are freed by the zip's drop.
                for (message, slot) in messages.into_iter().zip(batch) {
                    in_flight.spawn(self.clone().deliver(message, slot));
                }
            }
            Ok(_) => {
                drop(batch);
                tokio::select! {
                    () = &mut woken => {}
                    // Wakes on lease expiry and whatever else the broker schedules.
                    () = self.delivery.wait_for_work(target, None) => {}
                    () = self.cancel.cancelled() => {}
                }
            }
            Err(error) => {
                drop(batch);
                tracing::warn!(subscription = %self.subscription.name, %error, "push lease failed");
                tokio::select! {
                    () = tokio::time::sleep(ERROR_PAUSE) => {}
                    () = self.cancel.cancelled() => {}
                }
            }
        }
    }

    /// Pushes one message, then acks or nacks it. Holds `_slot` throughout.
    async fn deliver(self: Arc<Self>, message: ReceivedMessage, _slot: OwnedSemaphorePermit) {
        let _held = self.memory.hold(
            MemoryUse::PushInFlight,
            counted_bytes(&message.message.data.0, &message.message.attributes) as u64,
        );
        let name = self.subscription.name.as_str();
        let timeout = request_timeout(self.subscription.config.ack_deadline_seconds);
        let ack_ids = [message.ack_id.clone()];
        let outcome = tokio::select! {
            outcome = self.sender.post(&self.push, name, &message, timeout) => outcome,
            () = self.cancel.cancelled() => {
                // Abandoned (shutdown or deletion): give the message back now
                // rather than at its deadline. Fails harmlessly if the
                // subscription is gone.
                if let Err(error) = self.delivery.nack(name, &ack_ids, None, None).await {
                    tracing::debug!(subscription = %name, %error, "nack of an abandoned push failed");
                }
                return;
            }
        };
        let metrics = &self.metrics;
        let result = match outcome {
            Outcome::Delivered => {
                metrics.push_request(PUSH_SUCCESS);
                self.delivery.acknowledge(name, &ack_ids).await.map(|_| ())
            }
            Outcome::Failed(failure) => {
                metrics.push_request(PUSH_FAILURE);
                tracing::debug!(
                    subscription = %name,
                    message_id = %message.message.message_id,
                    attempt = message.delivery_attempt,
                    %failure,
                    "push failed; nacking"
                );
                // Retry timing (back-off) is the broker's: the nack hands the
                // message back with the failure as the dead-letter reason.
                self.delivery
                    .nack(name, &ack_ids, None, Some(failure.to_string()))
                    .await
            }
        };
        if let Err(error) = result {
            // The lease expires at its deadline and the message is redelivered.
            tracing::warn!(subscription = %name, %error, "push ack or nack failed");
        }
    }
}

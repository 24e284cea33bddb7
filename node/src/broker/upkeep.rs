//! [`Upkeep`]: the broker's periodic work. Retention, leases that expired
//! while nobody pulled, dead-letter outboxes, the lag gauges, expired
//! idempotency keys, and the storage of deleted resources still to remove.

use std::sync::Arc;
use std::time::Duration;

use cluster::Subscription;
use tokio_util::sync::CancellationToken;

use crate::broker::catalog::leftovers::Leftovers;
use crate::broker::catalog::stats::subscription_stats;
use crate::broker::delivery::Delivery;
use crate::broker::error::BrokerError;
use crate::broker::metadata_view::{MetadataView, partition_refs};
use crate::broker::publish::Publisher;
use crate::clock::Clock;
use crate::overload::budget::MemoryBudget;
use crate::storage::Storage;
use crate::telemetry::Metrics;

/// How often retention and the idempotency cache are swept.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(5);

/// Runs [`Upkeep::maintain`] every [`MAINTENANCE_INTERVAL`].
#[derive(Debug)]
pub struct Upkeep {
    metadata: MetadataView,
    storage: Arc<dyn Storage>,
    clock: Clock,
    metrics: Arc<Metrics>,
    delivery: Arc<Delivery>,
    publisher: Arc<Publisher>,
    memory: Arc<MemoryBudget>,
    leftovers: Arc<Leftovers>,
}

impl Upkeep {
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts upkeep works on, each shared with the broker"
    )]
    pub fn new(
        metadata: MetadataView,
        storage: Arc<dyn Storage>,
        clock: Clock,
        metrics: Arc<Metrics>,
        delivery: Arc<Delivery>,
        publisher: Arc<Publisher>,
        memory: Arc<MemoryBudget>,
        leftovers: Arc<Leftovers>,
    ) -> Self {
        Self {
            metadata,
            storage,
            clock,
            metrics,
            delivery,
            publisher,
            memory,
            leftovers,
        }
    }

    /// Maintains every [`MAINTENANCE_INTERVAL`] until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => self.maintain().await,
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Periodic upkeep: applies retention, copies what dead-letter outboxes
    /// hold, dead-letters messages whose last lease expired even if nobody pulls, refreshes the lag gauges, forgets
    /// expired idempotency keys, and updates the memory alarm. In a cluster each node trims what it owns and
    /// the metadata leader does the rest (its lag gauges cover the cluster);
    /// each node retries removing the storage of the deletes it answered.
    pub async fn maintain(&self) {
        let now = self.clock.now_millis();
        self.leftovers.retry().await;
        let (topics, subscriptions) = self.metadata.resources();
        for topic in &topics {
            // Each node trims the partitions it owns.
            for at in partition_refs(topic).filter(|at| self.metadata.store().owns(at)) {
                match self.storage.trim(&at, &topic.config.retention, now).await {
                    Ok(0) => {}
                    Ok(dropped) => {
                        tracing::debug!(topic = %at.topic, partition = at.partition, dropped, "retention trimmed messages")
                    }
                    Err(error) => {
                        tracing::warn!(topic = %at.topic, partition = at.partition, %error, "retention trim failed")
                    }
                }
            }
        }
        // One node (the metadata leader) ends expired leases and exports the
        // lag gauges for every partition; the calls reach the owners.
        let subscriptions = if self.metadata.store().leads() {
            subscriptions
        } else {
            Vec::new()
        };
        for sub in &subscriptions {
            if let Err(error) = self.refresh_subscription(sub).await {
                tracing::warn!(subscription = %sub.name, %error, "subscription upkeep failed");
            }
        }
        self.publisher.forget_expired_keys(now);
        // Clears (or raises) the memory alarm even when no publish asks.
        self.memory.check();
    }

    async fn refresh_subscription(&self, sub: &Subscription) -> Result<(), BrokerError> {
        let target = self.delivery.target(sub.name.as_str()).await?;
        if sub.config.dead_letter_policy.is_some()
            && let Err(error) = self.delivery.drain_dead_letters(&target).await
        {
            tracing::debug!(subscription = %sub.name, %error, "dead-letter outbox not drained yet");
        }
        self.delivery.lease_batch(&target, 0).await?;
        let now = self.clock.now_millis();
        let stats = subscription_stats(self.storage.as_ref(), sub, &target.topic, now).await?;
        self.metrics.record_lag(
            sub.name.as_str(),
            stats.backlog_messages,
            stats.oldest_unacked_age_seconds.unwrap_or(0.0),
        );
        Ok(())
    }
}

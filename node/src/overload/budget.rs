//! [`MemoryBudget`]: the node's accounted memory, its bound and its alarm.
//!
//! Each part that holds memory on behalf of clients adds what it holds under
//! its [`MemoryUse`] and takes it away when it lets go. The alarm compares
//! the sum with two watermarks of the limit:
//!
//! - at or above the **high** watermark the alarm is raised: publishes are
//!   refused (`429 RESOURCE_EXHAUSTED` with `Retry-After`, storing nothing),
//!   while pulls, streams, acks and admin calls go on, so consumers can drain;
//! - below the **low** watermark it is cleared and publishes are accepted again;
//! - from the low watermark up, memory storage releases messages that every
//!   subscription of their topic has acknowledged (see
//!   [`crate::storage::memory`]), so a backlog that consumers keep up with
//!   frees its memory instead of raising the alarm.
//!
//! The figures are estimates (payload bytes plus a fixed overhead per item),
//! not the allocator's: they move with what clients do, and the process's
//! resident memory follows them within the overhead the docs state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use prometheus_client::metrics::gauge::Gauge;
use thiserror::Error;

use crate::telemetry::overload::{OverloadMetrics, UseLabel};

/// What accounted memory is held for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryUse {
    /// Messages (and their per-message bookkeeping) kept by memory storage.
    StoredMessages,
    /// The idempotency cache of the publish path.
    IdempotencyKeys,
    /// Leased messages on their way out of a WebSocket stream, and publish
    /// stream frames being answered.
    StreamBuffers,
    /// Messages being POSTed to push endpoints.
    PushInFlight,
    /// Request bodies being read and handled.
    RequestBodies,
}

impl MemoryUse {
    const ALL: [MemoryUse; 5] = [
        MemoryUse::StoredMessages,
        MemoryUse::IdempotencyKeys,
        MemoryUse::StreamBuffers,
        MemoryUse::PushInFlight,
        MemoryUse::RequestBodies,
    ];

    /// The `use` label of `pubsubgo_memory_accounted_bytes`.
    pub fn label(self) -> &'static str {
        match self {
            MemoryUse::StoredMessages => "stored_messages",
            MemoryUse::IdempotencyKeys => "idempotency_keys",
            MemoryUse::StreamBuffers => "stream_buffers",
            MemoryUse::PushInFlight => "push_in_flight",
            MemoryUse::RequestBodies => "request_bodies",
        }
    }
}

/// The bound and its watermarks, in bytes of accounted memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    pub limit_bytes: u64,
    /// The alarm is raised at or above this.
    pub high_bytes: u64,
    /// The alarm is cleared below this; memory storage releases acked
    /// messages at or above it.
    pub low_bytes: u64,
}

impl MemoryLimits {
    /// No bound: the alarm never rises (tests and embedders that bound
    /// nothing).
    pub const UNBOUNDED: MemoryLimits = MemoryLimits {
        limit_bytes: u64::MAX,
        high_bytes: u64::MAX,
        low_bytes: u64::MAX,
    };
}

/// A publish refused because the memory alarm is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "the node's memory alarm is raised ({accounted_bytes} of {limit_bytes} bytes accounted): \
     publishes are refused until consumers drain the backlog; retry later"
)]
pub struct MemoryAlarm {
    pub accounted_bytes: u64,
    pub limit_bytes: u64,
}

/// The node's accounted memory and its alarm. Shared by everything that holds
/// memory for clients; the figures are gauges of `pubsubgo_memory_accounted_bytes`.
#[derive(Debug)]
pub struct MemoryBudget {
    limits: MemoryLimits,
    /// One gauge per [`MemoryUse`], in [`MemoryUse::ALL`] order.
    used: [Gauge; 5],
    raised: AtomicBool,
    metrics: OverloadMetrics,
}

impl MemoryBudget {
    pub fn new(limits: MemoryLimits, metrics: &OverloadMetrics) -> Arc<Self> {
        if limits != MemoryLimits::UNBOUNDED {
            metrics
                .limit
                .set(i64::try_from(limits.limit_bytes).unwrap_or(i64::MAX));
        }
        Arc::new(Self {
            limits,
            used: MemoryUse::ALL.map(|r#use| {
                metrics
                    .accounted
                    .get_or_create(&UseLabel {
                        r#use: r#use.label(),
                    })
                    .clone()
            }),
            raised: AtomicBool::new(false),
            metrics: metrics.clone(),
        })
    }

    /// A budget that bounds nothing, reporting to no registry.
    pub fn unbounded() -> Arc<Self> {
        Self::new(MemoryLimits::UNBOUNDED, &OverloadMetrics::default())
    }

    pub fn limits(&self) -> MemoryLimits {
        self.limits
    }

    fn gauge(&self, r#use: MemoryUse) -> &Gauge {
        // The variants' discriminants are their places in `MemoryUse::ALL`.
        &self.used[r#use as usize]
    }

    pub fn add(&self, r#use: MemoryUse, bytes: u64) {
        self.gauge(r#use)
            .inc_by(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub fn sub(&self, r#use: MemoryUse, bytes: u64) {
        self.gauge(r#use)
            .dec_by(i64::try_from(bytes).unwrap_or(i64::MAX));
        if self.raised.load(Ordering::Relaxed) {
            self.check();
        }
    }

    /// Sets what `use` holds (for a part that knows its total, like the
    /// idempotency cache).
    pub fn set(&self, r#use: MemoryUse, bytes: u64) {
        self.gauge(r#use)
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Adds `bytes` under `use` until the returned hold is dropped.
    pub fn hold(self: &Arc<Self>, r#use: MemoryUse, bytes: u64) -> MemoryHold {
        self.add(r#use, bytes);
        MemoryHold {
            budget: self.clone(),
            r#use,
            bytes,
        }
    }

    /// Every use's bytes added up.
    pub fn accounted(&self) -> u64 {
        self.used
            .iter()
            .map(|g| u64::try_from(g.get()).unwrap_or(0))
            .sum()
    }

    /// Whether memory storage should release acknowledged messages now.
    pub fn shedding(&self) -> bool {
        self.accounted() >= self.limits.low_bytes
    }

    /// `Err` while the alarm is raised: a publish must store nothing.
    pub fn admit_publish(&self) -> Result<(), MemoryAlarm> {
        if self.check() {
            self.metrics.refuse("memory_alarm");
            return Err(MemoryAlarm {
                accounted_bytes: self.accounted(),
                limit_bytes: self.limits.limit_bytes,
            });
        }
        Ok(())
    }

    /// Raises or clears the alarm from the accounted memory now; answers
    /// whether it is raised. Each change is logged once and shown in
    /// `pubsubgo_memory_alarm`.
    pub fn check(&self) -> bool {
        let accounted = self.accounted();
        let raised = self.raised.load(Ordering::Relaxed);
        if !raised && accounted >= self.limits.high_bytes {
            if self
                .raised
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                self.metrics.alarm.set(1);
                self.metrics.alarms.inc();
                tracing::warn!(
                    accounted_bytes = accounted,
                    high_watermark_bytes = self.limits.high_bytes,
                    limit_bytes = self.limits.limit_bytes,
                    "memory alarm raised: publishes are refused until accounted memory falls below the low watermark"
                );
            }
            return true;
        }
        if raised && accounted < self.limits.low_bytes {
            if self
                .raised
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                self.metrics.alarm.set(0);
                tracing::info!(
                    accounted_bytes = accounted,
                    low_watermark_bytes = self.limits.low_bytes,
                    "memory alarm cleared: publishes are accepted again"
                );
            }
            return false;
        }
        raised
    }
}

/// Accounted memory held until dropped (see [`MemoryBudget::hold`]).
#[derive(Debug)]
pub struct MemoryHold {
    budget: Arc<MemoryBudget>,
    r#use: MemoryUse,
    bytes: u64,
}

impl Drop for MemoryHold {
    fn drop(&mut self) {
        self.budget.sub(self.r#use, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: u64) -> Arc<MemoryBudget> {
        MemoryBudget::new(
            MemoryLimits {
                limit_bytes: limit,
                high_bytes: limit * 9 / 10,
                low_bytes: limit * 8 / 10,
            },
            &OverloadMetrics::default(),
        )
    }

    #[test]
    fn the_alarm_rises_at_the_high_watermark_and_clears_below_the_low() {
        let memory = budget(1000);
        memory.add(MemoryUse::StoredMessages, 850);
        assert!(
            memory.admit_publish().is_ok(),
            "85% is below the high watermark"
        );
        assert!(
            memory.shedding(),
            "from the low watermark up, acked messages go"
        );

        let stream = memory.hold(MemoryUse::StreamBuffers, 60);
        assert_eq!(memory.accounted(), 910);
        let refused = memory.admit_publish().expect_err("91% raises the alarm");
        assert_eq!(refused.limit_bytes, 1000);

        drop(stream);
        assert!(
            memory.admit_publish().is_err(),
            "85% is above the low watermark: the alarm stays up"
        );
        memory.sub(MemoryUse::StoredMessages, 100);
        assert!(memory.admit_publish().is_ok(), "75% clears it");
        assert!(!memory.shedding());
    }

    #[test]
    fn an_unbounded_budget_never_alarms() {
        let memory = MemoryBudget::unbounded();
        memory.add(MemoryUse::RequestBodies, u64::MAX / 2);
        assert!(memory.admit_publish().is_ok());
        assert!(!memory.shedding());
    }
}

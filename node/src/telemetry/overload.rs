//! [`OverloadMetrics`]: the memory bound, its alarm, refused publishes and
//! slow consumers (see `crate::overload`).
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_memory_limit_bytes` | gauge | the node's memory bound (`memory.limit_bytes`) |
//! | `pubsubgo_memory_accounted_bytes` | gauge, `use` | accounted memory by use: `stored_messages` (memory storage), `idempotency_keys`, `stream_buffers`, `push_in_flight`, `request_bodies` |
//! | `pubsubgo_memory_alarm` | gauge | 1 while the memory alarm is raised (publishes refused), else 0 |
//! | `pubsubgo_memory_alarms_total` | counter | times the memory alarm was raised |
//! | `pubsubgo_publishes_refused_total` | counter, `reason` | publishes refused with nothing stored: `memory_alarm` (429), `partition_full` (429, a topic with `discard: new` at a size bound), `storage_full` (507, Redis `OOM`) |
//! | `pubsubgo_slow_consumers_total` | counter | streams closed because the client took no frame within the write timeout |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `use` of `pubsubgo_memory_accounted_bytes`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UseLabel {
    pub r#use: &'static str,
}

/// `reason` of `pubsubgo_publishes_refused_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// Handles on the overload metrics; [`OverloadMetrics::default`] ones are
/// registered nowhere (a broker built for a test).
#[derive(Debug, Clone, Default)]
pub struct OverloadMetrics {
    pub limit: Gauge,
    pub accounted: Family<UseLabel, Gauge>,
    pub alarm: Gauge,
    pub alarms: Counter,
    pub refused: Family<ReasonLabel, Counter>,
    pub slow_consumers: Counter,
}

impl OverloadMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "pubsubgo_memory_limit_bytes",
            "The node's memory bound",
            metrics.limit.clone(),
        );
        registry.register(
            "pubsubgo_memory_accounted_bytes",
            "Accounted memory by use",
            metrics.accounted.clone(),
        );
        registry.register(
            "pubsubgo_memory_alarm",
            "1 while the memory alarm is raised and publishes are refused",
            metrics.alarm.clone(),
        );
        registry.register(
            "pubsubgo_memory_alarms",
            "Times the memory alarm was raised",
            metrics.alarms.clone(),
        );
        registry.register(
            "pubsubgo_publishes_refused",
            "Publishes refused with nothing stored, by reason",
            metrics.refused.clone(),
        );
        registry.register(
            "pubsubgo_slow_consumers",
            "Streams closed because the client took no frame within the write timeout",
            metrics.slow_consumers.clone(),
        );
        metrics
    }

    /// Counts one refused publish; `reason` is `memory_alarm`,
    /// `partition_full` or `storage_full`.
    pub fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabel { reason }).inc();
    }
}

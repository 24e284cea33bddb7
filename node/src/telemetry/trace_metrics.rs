//! [`TraceMetrics`]: what became of the spans sent for export (see
//! [`super::traces`]).
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_trace_spans_exported_total` | counter | sampled spans the OTLP endpoint accepted |
//! | `pubsubgo_trace_spans_dropped_total` | counter, `reason` | sampled spans lost: `queue_full` (the export queue was full; the request was never held up), `export_failed` (the endpoint refused the batch or did not answer in time) |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// `reason` of `pubsubgo_trace_spans_dropped_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropReason {
    pub reason: &'static str,
}

/// Handles on the trace export metrics; clones count into the same series.
#[derive(Debug, Clone, Default)]
pub struct TraceMetrics {
    pub exported: Counter,
    dropped: Family<DropReason, Counter>,
}

impl TraceMetrics {
    /// Creates the metrics and registers them in `registry`; both reasons
    /// are exported from the start, at 0.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        for reason in ["queue_full", "export_failed"] {
            metrics.dropped(reason);
        }
        registry.register(
            "pubsubgo_trace_spans_exported",
            "Sampled spans the OTLP endpoint accepted",
            metrics.exported.clone(),
        );
        registry.register(
            "pubsubgo_trace_spans_dropped",
            "Sampled spans lost before export, by reason",
            metrics.dropped.clone(),
        );
        metrics
    }

    /// The counter of spans dropped for `reason`.
    pub fn dropped(&self, reason: &'static str) -> Counter {
        self.dropped.get_or_create(&DropReason { reason }).clone()
    }
}

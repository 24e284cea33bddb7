//! [`RoutingMetrics`]: calls between nodes on the peer port, and the work of
//! following the metadata.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_peer_calls_total` | counter, `call` | routed calls this node sent to partition owners, by kind: a storage call's name (`lease`, `append`, `next_wakeup`, …) or `watch` (a wait for an owner's wake-up) |
//! | `pubsubgo_peer_calls_refused_total` | counter, `kind` = `call` or `watch` | calls this node's peer port refused (`503`) because their caller had `--peer-max-in-flight` of that kind in flight here |
//! | `pubsubgo_peer_calls_waiting` | gauge, `kind` = `call` or `watch` | calls this node holds back because it has `--peer-max-in-flight` of that kind in flight to their owner; each waits up to its timeout for a slot |
//! | `pubsubgo_metadata_sync_items_total` | counter | topics, subscriptions and partitions storage sync looked at to follow applied metadata changes; grows with what changed, not with the size of the metadata |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabel {
    pub call: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// Handles on the routing metrics; [`RoutingMetrics::default`] ones are
/// registered nowhere (parts built for a test).
#[derive(Debug, Clone, Default)]
pub struct RoutingMetrics {
    calls: Family<CallLabel, Counter>,
    refused: Family<KindLabel, Counter>,
    waiting: Family<KindLabel, Gauge>,
    pub sync_items: Counter,
}

impl RoutingMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        for kind in ["call", "watch"] {
            metrics.refused.get_or_create(&KindLabel { kind }).inc_by(0);
            metrics.waiting.get_or_create(&KindLabel { kind }).set(0);
        }
        registry.register(
            "pubsubgo_peer_calls",
            "Routed calls sent to partition owners, by kind",
            metrics.calls.clone(),
        );
        registry.register(
            "pubsubgo_peer_calls_refused",
            "Peer calls refused because their caller had too many in flight",
            metrics.refused.clone(),
        );
        registry.register(
            "pubsubgo_peer_calls_waiting",
            "Calls held back until fewer are in flight to their owner",
            metrics.waiting.clone(),
        );
        registry.register(
            "pubsubgo_metadata_sync_items",
            "Topics, subscriptions and partitions looked at by storage sync",
            metrics.sync_items.clone(),
        );
        metrics
    }

    /// Counts one routed call sent.
    pub fn sent(&self, call: &'static str) {
        self.calls.get_or_create(&CallLabel { call }).inc();
    }

    /// Counts one call of `kind` waiting for a slot until the guard drops.
    pub fn waiting(&self, kind: &'static str) -> WaitingGuard {
        let gauge = self.waiting.get_or_create(&KindLabel { kind }).clone();
        gauge.inc();
        WaitingGuard(gauge)
    }

    /// Counts one call refused for its caller's in-flight cap.
    pub fn refused(&self, kind: &'static str) {
        self.refused.get_or_create(&KindLabel { kind }).inc();
    }
}

/// One call counted in `pubsubgo_peer_calls_waiting` while it lives.
#[derive(Debug)]
pub struct WaitingGuard(Gauge);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

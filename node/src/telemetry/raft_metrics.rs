//! [`RaftMetrics`]: the metadata group beyond term, leader and commit index
//! (which [`super::metrics`] lists), refreshed with them about every second,
//! and the proposals this node made.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_raft_is_leader` | gauge | 1 on the metadata leader, else 0 |
//! | `pubsubgo_raft_applied_index` | gauge | last metadata log index applied on this node |
//! | `pubsubgo_raft_last_contact_seconds` | gauge | on the leader, since a quorum acknowledged it; elsewhere, since the last entries or heartbeat from a leader (-1 when never) |
//! | `pubsubgo_raft_proposals_total` | counter, `result` = `ok` or `error` | metadata changes this node proposed (a rejected command is `error`) |
//! | `pubsubgo_raft_proposal_duration_seconds` | histogram | a proposal, until committed and applied here |
//! | `pubsubgo_cluster_nodes` | gauge, `state` = `live` or `down` | registered nodes by state, as this node's metadata says |
//! | `pubsubgo_rebalance_moves_total` | counter | partitions the automatic rebalance moved while this node led |
//! | `pubsubgo_rebalance_pending_partitions` | gauge | partitions not on their rendezvous owner over the live nodes, as this node's metadata says |

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: &'static str,
}

/// Handles on the Raft metrics; [`RaftMetrics::default`] ones are registered
/// nowhere.
#[derive(Debug, Clone)]
pub struct RaftMetrics {
    pub is_leader: Gauge,
    pub applied_index: Gauge,
    pub last_contact: Gauge<f64, AtomicU64>,
    pub proposals: Family<ResultLabel, Counter>,
    pub proposal_duration: Histogram,
    pub nodes: Family<StateLabel, Gauge>,
    pub rebalance_moves: Counter,
    pub rebalance_pending: Gauge,
}

impl Default for RaftMetrics {
    fn default() -> Self {
        Self {
            is_leader: Gauge::default(),
            applied_index: Gauge::default(),
            last_contact: Gauge::default(),
            proposals: Family::default(),
            // 1 ms to ~16 s.
            proposal_duration: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            nodes: Family::default(),
            rebalance_moves: Counter::default(),
            rebalance_pending: Gauge::default(),
        }
    }
}

impl RaftMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        metrics.last_contact.set(-1.0);
        for result in ["ok", "error"] {
            let _ = metrics.proposals.get_or_create(&ResultLabel { result });
        }
        for state in ["live", "down"] {
            let _ = metrics.nodes.get_or_create(&StateLabel { state });
        }
        registry.register(
            "pubsubgo_raft_is_leader",
            "1 on the metadata leader, else 0",
            metrics.is_leader.clone(),
        );
        registry.register(
            "pubsubgo_raft_applied_index",
            "Last metadata log index applied on this node",
            metrics.applied_index.clone(),
        );
        registry.register(
            "pubsubgo_raft_last_contact_seconds",
            "Seconds since this node last knew itself part of a working metadata group",
            metrics.last_contact.clone(),
        );
        registry.register(
            "pubsubgo_raft_proposals",
            "Metadata changes this node proposed, by result",
            metrics.proposals.clone(),
        );
        registry.register(
            "pubsubgo_raft_proposal_duration_seconds",
            "Metadata proposals until committed and applied on this node",
            metrics.proposal_duration.clone(),
        );
        registry.register(
            "pubsubgo_cluster_nodes",
            "Registered nodes by state",
            metrics.nodes.clone(),
        );
        registry.register(
            "pubsubgo_rebalance_moves",
            "Partitions the automatic rebalance moved while this node led",
            metrics.rebalance_moves.clone(),
        );
        registry.register(
            "pubsubgo_rebalance_pending_partitions",
            "Partitions not on their rendezvous owner over the live nodes",
            metrics.rebalance_pending.clone(),
        );
        metrics
    }

    /// Records one proposal.
    pub fn proposed(&self, ok: bool, seconds: f64) {
        let result = if ok { "ok" } else { "error" };
        self.proposals.get_or_create(&ResultLabel { result }).inc();
        self.proposal_duration.observe(seconds);
    }

    /// Sets the node counts by state.
    pub fn set_nodes(&self, live: usize, down: usize) {
        for (state, count) in [("live", live), ("down", down)] {
            self.nodes
                .get_or_create(&StateLabel { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
}

//! [`Rebalancer`]: partitions return to their rendezvous owners without an
//! operator, at a bounded rate.
//!
//! When a node joins (registers) or comes back live, some partitions are no
//! longer on their rendezvous owner over the live nodes
//! ([`cluster::Placement::misplaced`]). Once a second, the metadata leader
//! commits one bounded step: at most `moves_per_second` of them, leaving out
//! every partition that changed owner less than the cool-down ago (as this
//! node's [`MoveJournal`] saw it), as one `Command::MovePartitions`. Each
//! entry names the owner epoch it was planned against, so a step that races
//! a failover or a manual rebalance moves nothing it did not mean to.
//!
//! The rate holds across leadership changes: a node that becomes leader waits
//! a full period before its first step. The cool-down holds across them too:
//! a new leader's journal saw every owner change it applied, and a node that
//! just started counts every partition as changed at its start.

use std::sync::Arc;
use std::time::Duration;

use cluster::{Command, PlannedMove, Reply};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::move_journal::MoveJournal;
use crate::metadata_store::MetadataStore;
use crate::telemetry::raft_metrics::RaftMetrics;

/// How often the leader takes a step; `moves_per_second` is per step.
const STEP: Duration = Duration::from_secs(1);

/// The automatic rebalance of one node (it acts only while it leads).
#[derive(Debug)]
pub struct Rebalancer {
    journal: Arc<MoveJournal>,
}

impl Rebalancer {
    pub fn new(journal: Arc<MoveJournal>) -> Self {
        Self { journal }
    }

    /// Refreshes the pending gauge on every node and, on the leader with the
    /// automatic rebalance on, takes one step per period, until `shutdown`.
    pub async fn run(
        self,
        metadata: Arc<MetadataStore>,
        metrics: RaftMetrics,
        shutdown: CancellationToken,
    ) {
        let settings = self.journal.settings();
        let mut tick = tokio::time::interval(STEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut leading = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let misplaced = metadata.read(|md| {
                self.journal.observe(md);
                md.placement().misplaced()
            });
            metrics
                .rebalance_pending
                .set(i64::try_from(misplaced.len()).unwrap_or(i64::MAX));
            let leads = settings.auto && metadata.leads();
            // The first period of a leadership only starts the clock.
            let step = leads && leading;
            leading = leads;
            if !step || misplaced.is_empty() {
                continue;
            }
            let now = Instant::now();
            let moves: Vec<PlannedMove> = misplaced
                .into_iter()
                .filter(|m| !self.journal.cooling(&m.topic, m.partition, now))
                .take(settings.moves_per_second as usize)
                .collect();
            if moves.is_empty() {
                continue;
            }
            let planned = moves.len();
            match metadata.propose(Command::MovePartitions { moves }).await {
                Ok(Reply::PartitionsMoved(moved)) => {
                    metrics.rebalance_moves.inc_by(moved.len() as u64);
                    tracing::info!(planned, moved = moved.len(), "automatic rebalance step");
                }
                Ok(other) => tracing::warn!(?other, "a rebalance step replied without moves"),
                Err(e) => tracing::warn!(error = %e, "rebalance step not committed; next period"),
            }
        }
    }
}

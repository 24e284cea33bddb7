//! Which nodes take partitions: registration and the leader's failure detector.
//!
//! Every node registers itself (id and advertised peer address) once it is a
//! voter or a non-voting member (learner), and again after each restart; registering marks it live but takes
//! no partitions from others — a committed rebalance does that.
//!
//! The leader watches how long ago each voter and member last acknowledged it. A live
//! node silent for the owner timeout is marked down, which moves its
//! partitions to the live nodes with new epochs (storage then fences the old
//! owner). A down node that acknowledges again within half the timeout is
//! marked live; it gets partitions back only through a rebalance.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cluster::{Command, NodeId, TopicName};
use raft::Consensus;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metadata_store::MetadataStore;
use crate::telemetry::Metrics;

/// How the detector is tuned.
#[derive(Debug, Clone)]
pub struct Liveness {
    pub node_id: NodeId,
    /// The peer address other nodes reach this node at.
    pub advertised: String,
    /// A node silent this long loses its partitions.
    pub owner_timeout: Duration,
    /// Whether this node is one of the fixed voters, not a member.
    pub voter: bool,
}

impl Liveness {
    /// Registers this node and, while it leads, marks silent nodes down and
    /// answering ones live, until `shutdown`; refreshes the Raft and
    /// ownership gauges on each round.
    pub async fn run(
        self,
        metadata: Arc<MetadataStore>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) {
        let metadata = metadata.as_ref();
        let Some(consensus) = metadata.consensus().cloned() else {
            return;
        };
        let mut owned = BTreeSet::new();
        let period =
            (self.owner_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
        let mut registered = false;
        let mut leading_since: Option<Instant> = None;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            if !registered {
                registered = self.register(metadata, &consensus).await;
            }
            self.record(&consensus, &metrics, &mut owned);
            match consensus.member_contact() {
                Some(contact) => {
                    let since = *leading_since.get_or_insert_with(Instant::now);
                    self.check(metadata, &contact, since.elapsed()).await;
                }
                None => leading_since = None,
            }
        }
    }

    /// Refreshes the Raft gauges and counts partitions gained or lost since
    /// the last round (`owned` is what this node owned then).
    fn record(
        &self,
        consensus: &Consensus,
        metrics: &Metrics,
        owned: &mut BTreeSet<(TopicName, u32)>,
    ) {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let m = consensus.metrics();
        metrics.raft_term.set(gauge(m.term));
        metrics
            .raft_leader
            .set(m.leader.map_or(-1, |leader| gauge(leader.get())));
        let commit = m.commit_index.unwrap_or(0);
        metrics.raft_commit_index.set(gauge(commit));
        metrics
            .raft_apply_lag
            .set(gauge(commit.saturating_sub(m.applied_index.unwrap_or(0))));
        metrics
            .raft
            .is_leader
            .set(i64::from(m.leader == Some(self.node_id)));
        metrics
            .raft
            .applied_index
            .set(gauge(m.applied_index.unwrap_or(0)));
        metrics.raft.last_contact.set(
            consensus
                .quorum_contact_age()
                .map_or(-1.0, |age| age.as_secs_f64()),
        );
        let (live, down) = consensus.read_local(|md| {
            md.placement().nodes().fold(
                (0, 0),
                |(l, d), n| if n.live { (l + 1, d) } else { (l, d + 1) },
            )
        });
        metrics.raft.set_nodes(live, down);
        let now: BTreeSet<(TopicName, u32)> = consensus.read_local(|md| {
            md.placement()
                .owned_by(self.node_id)
                .map(|(topic, partition, _)| (topic.clone(), partition))
                .collect()
        });
        metrics.partitions_owned.set(gauge(now.len() as u64));
        let changed = now.symmetric_difference(owned).count() as u64;
        metrics.partition_owner_changes.inc_by(changed);
        *owned = now;
    }

    /// Proposes this node's registration once the membership names it: as a
    /// voter, or as a learner when it is no voter (a joining voter is a
    /// learner first, and registers once promoted). Returns whether it is
    /// registered.
    pub async fn register(&self, metadata: &MetadataStore, consensus: &Consensus) -> bool {
        let m = consensus.metrics();
        let member = if self.voter {
            m.voters.contains(&self.node_id)
        } else {
            m.learners.contains(&self.node_id)
        };
        if !member {
            return false;
        }
        let current = metadata.read(|md| {
            md.placement()
                .node(self.node_id)
                .is_some_and(|n| n.live && n.peer_addr == self.advertised)
        });
        if current {
            return true;
        }
        let command = Command::RegisterNode {
            id: self.node_id,
            peer_addr: self.advertised.clone(),
        };
        match metadata.propose(command).await {
            Ok(_) => {
                tracing::info!(node_id = self.node_id.get(), addr = %self.advertised, "registered in the cluster");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot register this node yet; retrying");
                false
            }
        }
    }

    /// On the leader: marks down the live nodes silent for the owner timeout
    /// and live the down ones heard from recently. `leading_for` stands in
    /// for a voter not heard from since this node began to lead.
    async fn check(
        &self,
        metadata: &MetadataStore,
        contact: &std::collections::BTreeMap<NodeId, Option<Duration>>,
        leading_for: Duration,
    ) {
        let nodes = metadata.read(|md| {
            md.placement()
                .nodes()
                .map(|n| (n.id, n.live))
                .collect::<Vec<_>>()
        });
        for (id, live) in nodes {
            // A node outside the membership (removed, or not yet added) is not judged here.
            let Some(age) = contact.get(&id) else {
                continue;
            };
            let age = age.unwrap_or(leading_for);
            let change = if live && age >= self.owner_timeout {
                Some(false)
            } else if !live && age < self.owner_timeout / 2 {
                Some(true)
            } else {
                None
            };
            let Some(live) = change else { continue };
            match metadata.propose(Command::SetNodeLive { id, live }).await {
                Ok(cluster::Reply::PartitionsMoved(moves)) => {
                    tracing::warn!(node_id = id.get(), live, moved = moves.len(), silent_for = ?age, "node liveness changed");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(node_id = id.get(), error = %e, "cannot change node liveness")
                }
            }
        }
    }
}

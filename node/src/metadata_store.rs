//! The seam between the broker and metadata consensus.
//!
//! Every metadata change is a [`cluster::Command`] passed to
//! [`MetadataStore::propose`]. Two backends sit behind it:
//! - **replicated** (what `pubsubgo-server` runs): a `raft::Consensus` group;
//!   the metadata survives restarts in the data directory, and a command
//!   proposed on any node is forwarded to the leader;
//! - **local**: applied in this process at once, for in-process tests and
//!   embedding without a data directory.
//!
//! Reads ([`MetadataStore::read`]) use this node's applied state: on a single
//! node that is linearizable; in a cluster it may trail the leader by the
//! replication delay (writes are fenced by epoch in storage). A proposal
//! returns only once this node has applied it, so a node reads its own
//! writes; [`MetadataStore::barrier`] makes the next read see everything
//! committed before it (a Raft read index), which the API's reads use.
//!
//! Every applied command bumps a version that [`MetadataStore::changes`]
//! watches, so background tasks (the push dispatchers) follow the metadata
//! without each write path having to call them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use tracing::Instrument;

use crate::routing::move_journal::MoveJournal;
use crate::telemetry::raft_metrics::RaftMetrics;

use api::types::{ClusterNodeStatus, ClusterStatus, NodeRole, PartitionOwnerStatus};
use cluster::{Command, Metadata, NodeId, Reply};
use raft::{Consensus, ConsensusError, Role};
use tokio::sync::watch;

/// The node's view of the metadata and the way to change it.
#[derive(Debug)]
pub struct MetadataStore {
    backend: Backend,
    /// Counts and times Raft proposals.
    observer: RaftMetrics,
    /// The owner changes this node saw, for the status; `None` without one.
    journal: Option<Arc<MoveJournal>>,
}

#[derive(Debug)]
enum Backend {
    Local {
        state: RwLock<Metadata>,
        /// How many commands have been applied.
        version: watch::Sender<u64>,
    },
    Replicated(Consensus),
}

impl MetadataStore {
    /// Metadata applied in this process only.
    pub fn local() -> Self {
        Self {
            backend: Backend::Local {
                state: RwLock::default(),
                version: watch::Sender::new(0),
            },
            observer: RaftMetrics::default(),
            journal: None,
        }
    }

    /// Reports the rebalance from `journal` in [`MetadataStore::status`].
    pub fn journaled(mut self, journal: Arc<MoveJournal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Records Raft proposals in `metrics` from now on.
    pub fn observed(mut self, metrics: RaftMetrics) -> Self {
        self.observer = metrics;
        self
    }

    /// Metadata replicated by a Raft group.
    pub fn replicated(consensus: Consensus) -> Self {
        Self {
            backend: Backend::Replicated(consensus),
            observer: RaftMetrics::default(),
            journal: None,
        }
    }

    /// Applies `command` through the backend and returns what it did. A
    /// rejection by `apply` is [`ConsensusError::Rejected`].
    pub async fn propose(&self, command: Command) -> Result<Reply, ConsensusError> {
        match &self.backend {
            Backend::Local { state, version } => {
                let reply = state
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .apply(command)?;
                // The write lock is released here, so a woken watcher reads the new state.
                version.send_modify(|v| *v += 1);
                Ok(reply)
            }
            Backend::Replicated(consensus) => {
                let debug = format!("{command:?}");
                let kind = debug
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let span = tracing::info_span!(
                    "raft propose",
                    otel.name = "raft propose",
                    pubsubgo.raft.command = kind,
                );
                let started = std::time::Instant::now();
                let proposed = consensus.propose(command).instrument(span).await;
                self.observer
                    .proposed(proposed.is_ok(), started.elapsed().as_secs_f64());
                let reply = proposed?;
                // The leader applied it; wait until this node has too. The
                // command is committed either way: a failed wait is no failure.
                if let Err(e) = consensus.read(|_| ()).await {
                    tracing::warn!(error = %e, "committed, but this node could not catch up yet");
                }
                Ok(reply)
            }
        }
    }

    /// Whether this node owns `at` (a partition with no owner yet counts as
    /// owned by whoever serves it; local metadata owns everything).
    pub fn owns(&self, at: &crate::storage::PartitionRef) -> bool {
        match &self.backend {
            Backend::Local { .. } => true,
            Backend::Replicated(consensus) => {
                let me = consensus.node_id();
                consensus.read_local(|md| {
                    md.placement()
                        .owner(&at.topic, at.partition)
                        .is_none_or(|o| o.node == me)
                })
            }
        }
    }

    /// Whether this node leads the metadata group (always, for local metadata).
    pub fn leads(&self) -> bool {
        match &self.backend {
            Backend::Local { .. } => true,
            Backend::Replicated(consensus) => consensus.leader() == Some(consensus.node_id()),
        }
    }

    /// Waits until this node has applied every command committed before the
    /// call: the next [`MetadataStore::read`] is linearizable. Immediate on
    /// local metadata.
    pub async fn barrier(&self) -> Result<(), ConsensusError> {
        match &self.backend {
            Backend::Local { .. } => Ok(()),
            Backend::Replicated(consensus) => consensus.read(|_| ()).await,
        }
    }

    /// Reads this node's applied metadata. Keep `f` short: it holds a lock.
    pub fn read<T>(&self, f: impl FnOnce(&Metadata) -> T) -> T {
        match &self.backend {
            Backend::Local { state, .. } => f(&state
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())),
            Backend::Replicated(consensus) => consensus.read_local(f),
        }
    }

    /// Changes after every applied command. Mark the value seen before reading
    /// the metadata, so no change falls between the read and the next wait.
    pub fn changes(&self) -> watch::Receiver<u64> {
        match &self.backend {
            Backend::Local { version, .. } => version.subscribe(),
            Backend::Replicated(consensus) => consensus.changes(),
        }
    }

    /// Why this node cannot serve metadata now, if it cannot: no known leader,
    /// or not yet applied up to the commit index.
    pub fn unready_reason(&self) -> Option<String> {
        let Backend::Replicated(consensus) = &self.backend else {
            return None;
        };
        let metrics = consensus.metrics();
        if metrics.leader.is_none() {
            return Some("no metadata leader is known".to_owned());
        }
        (metrics.applied_index < metrics.commit_index).then(|| {
            format!(
                "metadata applied up to {:?}, committed up to {:?}",
                metrics.applied_index, metrics.commit_index
            )
        })
    }

    /// The metadata group as this node sees it, with the nodes and partition
    /// owners of its applied metadata, for `GET /v1/cluster`.
    pub fn status(&self) -> ClusterStatus {
        let reason = self.unready_reason();
        let Backend::Replicated(consensus) = &self.backend else {
            let (nodes, partitions) = self.read(|md| placement_status(md, &BTreeSet::new()));
            return ClusterStatus {
                node_id: 0,
                role: NodeRole::Standalone,
                leader: None,
                term: 0,
                last_log_index: None,
                commit_index: None,
                applied_index: None,
                voters: Vec::new(),
                learners: Vec::new(),
                healthy: true,
                reason,
                nodes,
                partitions,
                rebalance: None,
            };
        };
        let m = consensus.metrics();
        let (nodes, partitions) = self.read(|md| placement_status(md, &m.voters));
        let rebalance = self
            .journal
            .as_ref()
            .map(|journal| self.read(|md| journal.status(md)));
        ClusterStatus {
            node_id: m.node_id.get(),
            role: match m.role {
                Role::Leader => NodeRole::Leader,
                Role::Follower => NodeRole::Follower,
                Role::Candidate => NodeRole::Candidate,
                Role::Learner => NodeRole::Learner,
                Role::Shutdown => NodeRole::Shutdown,
            },
            leader: m.leader.map(NodeId::get),
            term: m.term,
            last_log_index: m.last_log_index,
            commit_index: m.commit_index,
            applied_index: m.applied_index,
            voters: m.voters.into_iter().map(NodeId::get).collect(),
            learners: m.learners.into_iter().map(NodeId::get).collect(),
            healthy: reason.is_none(),
            reason,
            nodes,
            partitions,
            rebalance,
        }
    }

    /// The Raft group, when replicated.
    pub fn consensus(&self) -> Option<&Consensus> {
        match &self.backend {
            Backend::Replicated(consensus) => Some(consensus),
            Backend::Local { .. } => None,
        }
    }
}

/// The nodes (in id order, `voter` when in `voters`) and every partition's
/// owner (by topic, then partition) of `md`.
fn placement_status(
    md: &Metadata,
    voters: &BTreeSet<NodeId>,
) -> (Vec<ClusterNodeStatus>, Vec<PartitionOwnerStatus>) {
    let placement = md.placement();
    let mut owned: BTreeMap<NodeId, u32> = BTreeMap::new();
    let mut partitions = Vec::new();
    // `owners()` iterates topics in name order, and each topic's owners by index.
    for (topic, owners) in placement.owners() {
        for (partition, owner) in (0u32..).zip(owners) {
            if let Some(owner) = owner {
                *owned.entry(owner.node).or_default() += 1;
            }
            partitions.push(PartitionOwnerStatus {
                topic: topic.to_string(),
                partition,
                node: owner.map(|o| o.node.get()),
                epoch: owner.map(|o| o.epoch.get()),
            });
        }
    }
    let nodes = placement
        .nodes()
        .map(|node| ClusterNodeStatus {
            id: node.id.get(),
            peer_addr: node.peer_addr.clone(),
            live: node.live,
            voter: voters.contains(&node.id),
            partitions: owned.get(&node.id).copied().unwrap_or(0),
        })
        .collect();
    (nodes, partitions)
}

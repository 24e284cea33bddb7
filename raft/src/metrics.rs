//! [`ConsensusMetrics`]: a plain snapshot of Raft's state for status pages
//! and telemetry, free of openraft's generic types.

use std::collections::{BTreeMap, BTreeSet};

use openraft::{RaftMetrics, ServerState};

use crate::types::{NodeId, TypeConfig};

/// What this node is doing in the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
}

/// Raft's state as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusMetrics {
    pub node_id: NodeId,
    pub role: Role,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub last_log_index: Option<u64>,
    pub commit_index: Option<u64>,
    pub applied_index: Option<u64>,
    /// The last entry covered by a snapshot.
    pub snapshot_index: Option<u64>,
    /// The last entry removed from the log (covered by a snapshot).
    pub purged_index: Option<u64>,
    pub voters: BTreeSet<NodeId>,
    pub learners: BTreeSet<NodeId>,
    /// The peer address of every voter and learner, from the membership.
    pub members: BTreeMap<NodeId, String>,
    /// The log index of the entry that set the membership: it changes with
    /// every membership change.
    pub membership_index: Option<u64>,
}

impl From<&RaftMetrics<TypeConfig>> for ConsensusMetrics {
    fn from(m: &RaftMetrics<TypeConfig>) -> Self {
        let membership = m.membership_config.membership();
        Self {
            node_id: m.id,
            role: match m.state {
                ServerState::Leader => Role::Leader,
                ServerState::Follower => Role::Follower,
                ServerState::Candidate => Role::Candidate,
                ServerState::Learner => Role::Learner,
                ServerState::Shutdown => Role::Shutdown,
            },
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index,
            commit_index: m.local_committed.as_ref().map(|id| id.index),
            applied_index: m.last_applied.as_ref().map(|id| id.index),
            snapshot_index: m.snapshot.as_ref().map(|id| id.index),
            purged_index: m.purged.as_ref().map(|id| id.index),
            voters: membership.voter_ids().collect(),
            learners: membership.learner_ids().collect(),
            members: membership
                .nodes()
                .map(|(&id, peer)| (id, peer.addr.clone()))
                .collect(),
            membership_index: m.membership_config.log_id().as_ref().map(|id| id.index),
        }
    }
}

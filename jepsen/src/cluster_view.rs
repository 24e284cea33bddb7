//! [`ClusterView`]: what one node's `GET /v1/cluster` said, as the history
//! keeps it (the membership checks read it): the Raft voters and learners,
//! the nodes the placement knows and every partition's owner.

use api::types::{ClusterStatus, NodeRole};
use serde::{Deserialize, Serialize};

/// One node's view of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The answering node's role: `leader`, `follower`, `learner`, ….
    pub role: String,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    /// The nodes the placement knows: id and whether it takes partitions.
    pub nodes: Vec<NodeView>,
    /// Every partition's owner: topic, partition, node (none while no node
    /// was live since the topic was created).
    pub owners: Vec<(String, u32, Option<u64>)>,
}

/// A node the placement knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    pub id: u64,
    pub live: bool,
}

impl ClusterView {
    /// Whether `id` is in the Raft membership or the placement.
    pub fn knows(&self, id: u64) -> bool {
        self.voters.contains(&id)
            || self.learners.contains(&id)
            || self.nodes.iter().any(|n| n.id == id)
    }

    /// How many partitions `id` owns.
    pub fn owned_by(&self, id: u64) -> usize {
        self.owners.iter().filter(|o| o.2 == Some(id)).count()
    }

    /// The partitions (`topic/partition -> owner`) not owned by a live node
    /// of this view other than `gone`.
    pub fn misplaced(&self, gone: u64) -> Vec<String> {
        let live = |id: u64| id != gone && self.nodes.iter().any(|n| n.id == id && n.live);
        self.owners
            .iter()
            .filter(|(_, _, owner)| !owner.is_some_and(live))
            .map(|(topic, partition, owner)| format!("{topic}/{partition} -> {owner:?}"))
            .collect()
    }
}

impl From<&ClusterStatus> for ClusterView {
    fn from(status: &ClusterStatus) -> Self {
        let role = match status.role {
            NodeRole::Leader => "leader",
            NodeRole::Follower => "follower",
            NodeRole::Candidate => "candidate",
            NodeRole::Learner => "learner",
            NodeRole::Shutdown => "shutdown",
            NodeRole::Standalone => "standalone",
        };
        Self {
            role: role.to_owned(),
            voters: status.voters.clone(),
            learners: status.learners.clone(),
            nodes: status
                .nodes
                .iter()
                .map(|n| NodeView {
                    id: n.id,
                    live: n.live,
                })
                .collect(),
            owners: status
                .partitions
                .iter()
                .map(|p| (p.topic.clone(), p.partition, p.node))
                .collect(),
        }
    }
}

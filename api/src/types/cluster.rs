//! The cluster: the metadata group, its nodes and partition owners
//! (`GET /v1/cluster`), and the operator's `:rebalance` and node removal.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// This node's role in the metadata group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
    /// Metadata applied in-process, without consensus (embedded and test brokers).
    Standalone,
}

/// Answer of `GET /v1/cluster`: the metadata group as the answering node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub node_id: u64,
    pub role: NodeRole,
    /// The leader this node knows of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<u64>,
    pub term: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_log_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_index: Option<u64>,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    /// A leader is known and this node has applied everything committed.
    pub healthy: bool,
    /// Why the node is not healthy, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The nodes the metadata knows, in id order.
    #[serde(default)]
    pub nodes: Vec<ClusterNodeStatus>,
    /// Every partition's owner, sorted by topic, then partition.
    #[serde(default)]
    pub partitions: Vec<PartitionOwnerStatus>,
    /// What is moving: partitions away from their rendezvous owner and the
    /// owner changes this node saw lately; absent without consensus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance: Option<RebalanceStatus>,
}

/// The automatic rebalance as the answering node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebalanceStatus {
    /// Whether partitions return to their rendezvous owners without an
    /// operator (`PUBSUB_REBALANCE_AUTO`).
    pub auto: bool,
    /// The most partitions moved per second.
    pub moves_per_second: u32,
    /// Seconds a partition that changed owner is not moved again.
    pub cooldown_seconds: u64,
    /// Partitions whose owner is not their rendezvous owner over the live
    /// nodes: what a rebalance would move, by topic, then partition.
    pub pending: Vec<PendingMoveStatus>,
    /// Owner changes this node applied lately (any cause: failover, drain,
    /// rebalance), oldest first; at most the last 1,000.
    pub recent_moves: Vec<RecentMoveStatus>,
}

/// A partition away from its rendezvous owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingMoveStatus {
    pub topic: String,
    pub partition: u32,
    /// Its owner now.
    pub from: u64,
    /// Its rendezvous owner over the live nodes.
    pub to: u64,
    /// Whether it changed owner less than the cool-down ago, so it waits.
    pub cooling_down: bool,
}

/// An owner change the answering node applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentMoveStatus {
    pub topic: String,
    pub partition: u32,
    /// The previous owner; absent for a partition that had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    pub to: u64,
    /// The new owner's epoch.
    pub epoch: u64,
    /// When this node applied it, in milliseconds since the Unix epoch (its
    /// own clock).
    pub at_millis: u64,
}

/// One node of the cluster as the metadata knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNodeStatus {
    /// The Raft node id.
    pub id: u64,
    /// Where other nodes reach its peer port (`host:port`).
    pub peer_addr: String,
    /// Whether it takes partitions: a node is marked down when the leader has
    /// not heard from it for the owner timeout.
    pub live: bool,
    /// Whether it is in the Raft voter set (always false without consensus).
    pub voter: bool,
    /// How many partitions it owns.
    pub partitions: u32,
}

/// One partition's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionOwnerStatus {
    pub topic: String,
    pub partition: u32,
    /// The owning node; absent while no node has been live since the topic was
    /// created (then nobody writes to the partition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u64>,
    /// The epoch the owner's ownership began with; storage rejects writes
    /// carrying an older one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// Body of `POST /v1/cluster:rebalance`; an empty body is a real rebalance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RebalanceRequest {
    /// Answer what would move, and move nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Answer of `POST /v1/cluster:rebalance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebalanceResponse {
    /// True when nothing was moved: `moves` is the plan.
    pub dry_run: bool,
    /// How many partitions the cluster has, over all topics.
    pub partitions: u64,
    /// Each partition that changed (or would change) owner, in topic and
    /// partition order.
    pub moves: Vec<PartitionMoveStatus>,
}

/// Answer of `DELETE /v1/cluster/nodes/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoveNodeResponse {
    /// The node removed.
    pub node_id: u64,
    /// The partitions it owned, now on the live nodes.
    pub moves: Vec<PartitionMoveStatus>,
}

/// One partition changing owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionMoveStatus {
    pub topic: String,
    pub partition: u32,
    /// The previous owner; absent for a partition that had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    pub to: u64,
    /// The new owner's epoch.
    pub epoch: u64,
}

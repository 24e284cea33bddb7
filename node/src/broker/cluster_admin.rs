//! [`ClusterAdmin`]: operator actions on the cluster, rebalancing partition
//! owners and removing a node before it is scaled away. Both go through the
//! metadata's `propose` like every other change; a dry run only reads.

use api::types::{PartitionMoveStatus, RebalanceResponse, RemoveNodeResponse};
use cluster::{Command, Metadata, MetadataError, NodeId, PartitionMove, Reply};

use crate::broker::error::BrokerError;
use crate::broker::metadata_view::MetadataView;

/// Changes which nodes own which partitions, on an operator's request.
#[derive(Debug)]
pub struct ClusterAdmin {
    metadata: MetadataView,
}

impl ClusterAdmin {
    pub fn new(metadata: MetadataView) -> Self {
        Self { metadata }
    }

    /// Moves every partition to its rendezvous owner over the live nodes, each
    /// with a new epoch. With `dry_run`, answers the same plan and commits
    /// nothing.
    pub async fn rebalance(&self, dry_run: bool) -> Result<RebalanceResponse, BrokerError> {
        let (moves, partitions) = if dry_run {
            self.metadata
                .store()
                .read(|md| (md.placement().rebalance_plan(), partition_count(md)))
        } else {
            let moves = moved(self.metadata.store().propose(Command::Rebalance).await?);
            (moves, self.metadata.store().read(partition_count))
        };
        if !dry_run && !moves.is_empty() {
            tracing::info!(moved = moves.len(), partitions, "partitions rebalanced");
        }
        Ok(RebalanceResponse {
            dry_run,
            partitions,
            moves: moves.iter().map(move_status).collect(),
        })
    }

    /// Forgets node `id`; the partitions it owned move to the live nodes.
    pub async fn remove_node(&self, id: NodeId) -> Result<RemoveNodeResponse, BrokerError> {
        // Checked before any change, so an unknown id changes nothing anywhere.
        if self
            .metadata
            .store()
            .read(|md| md.placement().node(id).is_none())
        {
            return Err(MetadataError::NodeNotFound { id }.into());
        }
        // Its partitions first, so a failure between the two steps never
        // leaves them with an owner nobody considers; then out of the Raft
        // voters (a removed node does not register again: it is no voter).
        let moves = moved(
            self.metadata
                .store()
                .propose(Command::RemoveNode { id })
                .await?,
        );
        if let Some(consensus) = self.metadata.store().consensus() {
            consensus.remove_node(id).await?;
        }
        tracing::info!(
            node = id.get(),
            moved = moves.len(),
            "node removed from the cluster"
        );
        Ok(RemoveNodeResponse {
            node_id: id.get(),
            moves: moves.iter().map(move_status).collect(),
        })
    }
}

/// The moves of a node or rebalance command's reply.
fn moved(reply: Reply) -> Vec<PartitionMove> {
    match reply {
        Reply::PartitionsMoved(moves) => moves,
        other => unreachable!("a placement command replied {other:?}"),
    }
}

/// How many partitions the cluster has, over all topics.
fn partition_count(md: &Metadata) -> u64 {
    md.placement()
        .owners()
        .map(|(_, owners)| owners.len() as u64)
        .sum()
}

fn move_status(m: &PartitionMove) -> PartitionMoveStatus {
    PartitionMoveStatus {
        topic: m.topic.to_string(),
        partition: m.partition,
        from: m.from.map(NodeId::get),
        to: m.to.get(),
        epoch: m.epoch.get(),
    }
}

//! Which node owns each partition, and the cluster's nodes.
//!
//! Owners come from **rendezvous hashing**: each partition is owned by the live
//! node with the highest `xxh3(topic, partition, node)` score. Adding a node
//! takes from every other node only the partitions it now scores highest on
//! (about 1/N of them); removing a node moves only its own partitions.
//!
//! Ownership changes only through committed commands, never silently: a new
//! topic is placed over the live nodes when it is created; a node marked down
//! or removed hands its partitions to the remaining live nodes at once; a node
//! that registers (joins or comes back) gets partitions only from
//! [`Placement::rebalance`] (all at once) or [`Placement::move_partitions`]
//! (the bounded steps of the node's automatic rebalance, each move conditional
//! on the owner epoch its planner saw). Every change of owner takes a fresh **epoch** from
//! one counter that only grows, so epochs never repeat, even across a topic
//! deleted and created again; storage rejects writes carrying an older epoch
//! than it has seen, which fences an owner that has not heard it lost a
//! partition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::{Epoch, NodeId, TopicName};

/// A node as the metadata knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    pub id: NodeId,
    /// Where other nodes reach its peer port (`host:port`).
    pub peer_addr: String,
    /// Whether it takes partitions. A node is marked down when the leader has
    /// not heard from it for the owner timeout, and up again when it registers
    /// or answers again.
    pub live: bool,
}

/// One partition's owner and the epoch its ownership began with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOwner {
    pub node: NodeId,
    pub epoch: Epoch,
}

/// One partition changing owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMove {
    pub topic: TopicName,
    pub partition: u32,
    /// `None` for a partition that had no owner yet.
    pub from: Option<NodeId>,
    pub to: NodeId,
    /// The new owner's epoch.
    pub epoch: Epoch,
}

/// One partition to hand to `to`, planned while its owner had `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMove {
    pub topic: TopicName,
    pub partition: u32,
    /// The owner epoch the plan was made against; the move happens only if
    /// the partition still has it, so a plan that raced another change is
    /// dropped instead of undoing that change.
    pub epoch: Epoch,
    pub to: NodeId,
}

/// Nodes and partition owners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    nodes: BTreeMap<NodeId, ClusterNode>,
    /// Each topic's owners, indexed by partition. `None` while no node is live.
    owners: BTreeMap<TopicName, Vec<Option<PartitionOwner>>>,
    /// The last epoch handed out.
    last_epoch: Epoch,
}

/// The rendezvous score of `node` for one partition; the highest wins.
pub fn score(topic: &TopicName, partition: u32, node: NodeId) -> u64 {
    let mut key = Vec::with_capacity(topic.as_str().len() + 4);
    key.extend_from_slice(topic.as_str().as_bytes());
    key.extend_from_slice(&partition.to_le_bytes());
    xxh3_64_with_seed(&key, node.get())
}

/// The node among `nodes` that scores highest for the partition (ties go to
/// the lower id), or `None` if `nodes` is empty.
pub fn rendezvous_owner(
    topic: &TopicName,
    partition: u32,
    nodes: impl IntoIterator<Item = NodeId>,
) -> Option<NodeId> {
    nodes
        .into_iter()
        .map(|node| (score(topic, partition, node), std::cmp::Reverse(node)))
        .max()
        .map(|(_, std::cmp::Reverse(node))| node)
}

impl Placement {
    pub fn nodes(&self) -> impl Iterator<Item = &ClusterNode> {
        self.nodes.values()
    }

    /// The last epoch handed out: it grows with every change of owner, so
    /// an unchanged value means no owner changed.
    pub fn last_epoch(&self) -> Epoch {
        self.last_epoch
    }

    pub fn node(&self, id: NodeId) -> Option<&ClusterNode> {
        self.nodes.get(&id)
    }

    /// The owner of one partition, if it has one.
    pub fn owner(&self, topic: &TopicName, partition: u32) -> Option<PartitionOwner> {
        self.owners
            .get(topic)
            .and_then(|owners| owners.get(partition as usize).copied().flatten())
    }

    /// Each topic's owners, indexed by partition.
    pub fn owners(&self) -> impl Iterator<Item = (&TopicName, &[Option<PartitionOwner>])> {
        self.owners.iter().map(|(t, o)| (t, o.as_slice()))
    }

    /// The partitions `node` owns, with their epochs, by topic then index.
    pub fn owned_by(&self, node: NodeId) -> impl Iterator<Item = (&TopicName, u32, Epoch)> {
        self.owners.iter().flat_map(move |(topic, owners)| {
            owners.iter().enumerate().filter_map(move |(i, owner)| {
                owner
                    .filter(|o| o.node == node)
                    .map(|o| (topic, i as u32, o.epoch))
            })
        })
    }

    fn live_nodes(&self) -> impl Iterator<Item = NodeId> + Clone + '_ {
        self.nodes.values().filter(|n| n.live).map(|n| n.id)
    }

    /// Adds a node, or marks a known one live at `peer_addr`. Takes no
    /// partitions from others, but gives owners to partitions that had none.
    pub fn register(&mut self, id: NodeId, peer_addr: String) -> Vec<PartitionMove> {
        self.nodes.insert(
            id,
            ClusterNode {
                id,
                peer_addr,
                live: true,
            },
        );
        self.reassign(|owner, _| owner.is_none())
    }

    /// Marks a node live or down. Down hands its partitions to the live nodes;
    /// live again takes nothing back (a rebalance does). Unknown ids: no-op.
    pub fn set_live(&mut self, id: NodeId, live: bool) -> Vec<PartitionMove> {
        let Some(node) = self.nodes.get_mut(&id) else {
            return Vec::new();
        };
        node.live = live;
        if live {
            self.reassign(|owner, _| owner.is_none())
        } else {
            self.reassign(|owner, _| owner.is_some_and(|o| o.node == id))
        }
    }

    /// Forgets a node; its partitions go to the live nodes.
    pub fn remove(&mut self, id: NodeId) -> Vec<PartitionMove> {
        if self.nodes.remove(&id).is_none() {
            return Vec::new();
        }
        self.reassign(|owner, _| owner.is_some_and(|o| o.node == id))
    }

    /// Moves every partition to its rendezvous owner over the live nodes.
    pub fn rebalance(&mut self) -> Vec<PartitionMove> {
        self.reassign(|owner, best| owner.map(|o| o.node) != best)
    }

    /// What [`Placement::rebalance`] would move, without moving anything.
    pub fn rebalance_plan(&self) -> Vec<PartitionMove> {
        self.clone().rebalance()
    }

    /// The partitions whose owner is not their rendezvous owner over the live
    /// nodes, each with the move that would fix it (by topic, then
    /// partition). Partitions without an owner are left out: registering a
    /// node places them.
    pub fn misplaced(&self) -> Vec<PlannedMove> {
        let live = self.live_nodes().collect::<Vec<_>>();
        let mut planned = Vec::new();
        for (topic, owners) in &self.owners {
            for (partition, owner) in owners.iter().enumerate() {
                let partition = partition as u32;
                let (Some(owner), Some(best)) = (
                    owner,
                    rendezvous_owner(topic, partition, live.iter().copied()),
                ) else {
                    continue;
                };
                if owner.node != best {
                    planned.push(PlannedMove {
                        topic: topic.clone(),
                        partition,
                        epoch: owner.epoch,
                        to: best,
                    });
                }
            }
        }
        planned
    }

    /// Makes each planned move whose partition still has the planned epoch
    /// and whose target is a live node, with a new epoch; skips the others.
    pub fn move_partitions(&mut self, planned: &[PlannedMove]) -> Vec<PartitionMove> {
        let mut moves = Vec::new();
        for plan in planned {
            if !self.nodes.get(&plan.to).is_some_and(|n| n.live) {
                continue;
            }
            let Some(slot) = self
                .owners
                .get_mut(&plan.topic)
                .and_then(|owners| owners.get_mut(plan.partition as usize))
            else {
                continue;
            };
            let Some(current) = *slot else { continue };
            if current.epoch != plan.epoch || current.node == plan.to {
                continue;
            }
            self.last_epoch = self.last_epoch.next();
            *slot = Some(PartitionOwner {
                node: plan.to,
                epoch: self.last_epoch,
            });
            moves.push(PartitionMove {
                topic: plan.topic.clone(),
                partition: plan.partition,
                from: Some(current.node),
                to: plan.to,
                epoch: self.last_epoch,
            });
        }
        moves
    }

    /// Places a new topic's partitions over the live nodes.
    pub fn add_topic(&mut self, topic: &TopicName, partitions: u32) -> Vec<PartitionMove> {
        self.owners
            .insert(topic.clone(), vec![None; partitions as usize]);
        self.reassign(|owner, _| owner.is_none())
    }

    pub fn remove_topic(&mut self, topic: &TopicName) {
        self.owners.remove(topic);
    }

    /// Gives each partition for which `should_move(current, best)` holds its
    /// rendezvous owner over the live nodes (when that differs from the
    /// current owner), with a new epoch.
    fn reassign(
        &mut self,
        should_move: impl Fn(Option<PartitionOwner>, Option<NodeId>) -> bool,
    ) -> Vec<PartitionMove> {
        let live = self.live_nodes().collect::<Vec<_>>();
        let mut moves = Vec::new();
        for (topic, owners) in &mut self.owners {
            for (partition, slot) in owners.iter_mut().enumerate() {
                let partition = partition as u32;
                let best = rendezvous_owner(topic, partition, live.iter().copied());
                let current = *slot;
                if !should_move(current, best) {
                    continue;
                }
                let Some(to) = best else {
                    // No live node: keep the owner; a down node stays fenced
                    // by its epoch once someone takes over.
                    continue;
                };
                if current.map(|o| o.node) == Some(to) {
                    continue;
                }
                self.last_epoch = self.last_epoch.next();
                *slot = Some(PartitionOwner {
                    node: to,
                    epoch: self.last_epoch,
                });
                moves.push(PartitionMove {
                    topic: topic.clone(),
                    partition,
                    from: current.map(|o| o.node),
                    to,
                    epoch: self.last_epoch,
                });
            }
        }
        moves
    }
}

#[cfg(test)]
mod tests;

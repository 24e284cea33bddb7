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
//! that registers (joins or comes back) gets partitions only from an explicit
//! [`Placement::rebalance`]. Every change of owner takes a fresh **epoch** from
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
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn topic(name: &str) -> TopicName {
        TopicName::new(name).expect("valid name")
    }

    fn node(id: u64) -> NodeId {
        NodeId::new(id)
    }

    fn cluster(nodes: &[u64], topics: &[(&str, u32)]) -> Placement {
        let mut p = Placement::default();
        for &n in nodes {
            p.register(node(n), format!("node-{n}:8082"));
        }
        for &(t, parts) in topics {
            p.add_topic(&topic(t), parts);
        }
        p
    }

    fn owner_map(p: &Placement) -> BTreeMap<(TopicName, u32), PartitionOwner> {
        p.owners()
            .flat_map(|(t, owners)| {
                owners
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, o)| o.map(|o| ((t.clone(), i as u32), o)))
            })
            .collect()
    }

    #[test]
    fn topics_without_live_nodes_wait_for_the_first_node() {
        let mut p = Placement::default();
        assert!(p.add_topic(&topic("orders"), 3).is_empty());
        assert_eq!(p.owner(&topic("orders"), 0), None);
        let moves = p.register(node(7), "a:1".into());
        assert_eq!(moves.len(), 3);
        assert_eq!(p.owner(&topic("orders"), 2).map(|o| o.node), Some(node(7)));
    }

    #[test]
    fn a_down_node_hands_over_only_its_partitions_and_gets_them_back_by_rebalance() {
        let mut p = cluster(&[1, 2, 3], &[("orders", 24), ("events", 12)]);
        let before = owner_map(&p);
        let moves = p.set_live(node(2), false);
        let owned_by_2 = before.values().filter(|o| o.node == node(2)).count();
        assert_eq!(moves.len(), owned_by_2);
        assert!(
            moves
                .iter()
                .all(|m| m.from == Some(node(2)) && m.to != node(2))
        );
        let after = owner_map(&p);
        for (key, old) in &before {
            if old.node != node(2) {
                assert_eq!(after[key], *old, "{key:?} moved without cause");
            } else {
                assert!(after[key].epoch > old.epoch);
            }
        }
        assert!(
            p.set_live(node(2), true).is_empty(),
            "coming back takes nothing"
        );
        let back = p.rebalance();
        assert_eq!(back.len(), owned_by_2);
        assert!(back.iter().all(|m| m.to == node(2)));
        assert!(p.rebalance().is_empty(), "a second rebalance moves nothing");
    }

    #[test]
    fn epochs_never_repeat_across_a_recreated_topic() {
        let mut p = cluster(&[1], &[("orders", 2)]);
        let first = p.owner(&topic("orders"), 1).expect("owned").epoch;
        p.remove_topic(&topic("orders"));
        p.add_topic(&topic("orders"), 2);
        assert!(p.owner(&topic("orders"), 0).expect("owned").epoch > first);
    }

    #[test]
    fn node_commands_go_through_apply_and_unknown_nodes_are_rejected() {
        use crate::{Command, Metadata, MetadataError, Reply, TopicConfig};
        let mut md = Metadata::default();
        let reg = |id| Command::RegisterNode {
            id: node(id),
            peer_addr: format!("n{id}:8082"),
        };
        md.apply(reg(1)).expect("registered");
        md.apply(Command::CreateTopic {
            name: topic("orders"),
            config: TopicConfig {
                partitions: 8,
                ..TopicConfig::default()
            },
            at_millis: 0,
        })
        .expect("created");
        assert!(
            (0..8).all(
                |i| md.placement().owner(&topic("orders"), i).map(|o| o.node) == Some(node(1))
            )
        );
        md.apply(reg(2)).expect("registered");
        let Ok(Reply::PartitionsMoved(moves)) = md.apply(Command::Rebalance) else {
            panic!("rebalance replies with moves");
        };
        assert!(!moves.is_empty() && moves.iter().all(|m| m.to == node(2)));
        let Ok(Reply::PartitionsMoved(down)) = md.apply(Command::SetNodeLive {
            id: node(2),
            live: false,
        }) else {
            panic!("a node can go down");
        };
        assert_eq!(down.len(), moves.len());
        assert_eq!(
            md.apply(Command::RemoveNode { id: node(9) }),
            Err(MetadataError::NodeNotFound { id: node(9) })
        );
        md.apply(Command::DeleteTopic {
            name: topic("orders"),
        })
        .expect("deleted");
        assert_eq!(md.placement().owners().count(), 0);
    }

    proptest! {
        #[test]
        fn joining_moves_only_to_the_new_node_and_about_one_in_n(
            n in 2u64..7,
            partitions in 8u32..64,
        ) {
            let nodes: Vec<u64> = (1..=n).collect();
            let mut p = cluster(&nodes, &[("a-topic", partitions), ("b-topic", partitions)]);
            let before = owner_map(&p);
            p.register(node(n + 1), "new:1".into());
            let plan = p.rebalance_plan();
            let moves = p.rebalance();
            prop_assert_eq!(&plan, &moves);
            prop_assert!(moves.iter().all(|m| m.to == node(n + 1)));
            let total = before.len() as f64;
            let share = moves.len() as f64 / total;
            let expected = 1.0 / (n + 1) as f64;
            // Loose bound for small counts; the mean is exactly 1/(n+1).
            prop_assert!((share - expected).abs() < 0.25, "share {share} expected {expected}");
        }

        #[test]
        fn every_partition_has_a_live_owner_after_any_change(
            downs in proptest::collection::vec(1u64..5, 0..3),
        ) {
            let mut p = cluster(&[1, 2, 3, 4], &[("orders", 16)]);
            let down: BTreeSet<NodeId> = downs.iter().copied().map(node).collect();
            for &d in &down {
                p.set_live(d, false);
            }
            for i in 0..16 {
                let owner = p.owner(&topic("orders"), i).expect("owned");
                if down.len() < 4 {
                    prop_assert!(!down.contains(&owner.node));
                }
            }
        }
    }
}

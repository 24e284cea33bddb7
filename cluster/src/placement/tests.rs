//! Unit tests of [`Placement`](super::Placement): rendezvous owners, node
//! changes, rebalances and bounded moves.

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
        (0..8).all(|i| md.placement().owner(&topic("orders"), i).map(|o| o.node) == Some(node(1)))
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

#[test]
fn bounded_moves_follow_the_plan_and_drop_stale_or_unsafe_entries() {
    let mut p = cluster(&[1, 2, 3], &[("orders", 24)]);
    p.set_live(node(3), false);
    assert!(p.misplaced().is_empty(), "down: every owner is rendezvous");
    p.set_live(node(3), true);
    let plan = p.misplaced();
    assert_eq!(plan, {
        let mut q = p.clone();
        let all = q.rebalance();
        all.iter()
            .map(|m| PlannedMove {
                topic: m.topic.clone(),
                partition: m.partition,
                epoch: p.owner(&m.topic, m.partition).expect("owned").epoch,
                to: m.to,
            })
            .collect::<Vec<_>>()
    });
    assert!(plan.len() >= 2 && plan.iter().all(|m| m.to == node(3)));

    let first = p.move_partitions(&plan[..1]);
    assert_eq!(first.len(), 1, "one step moves what it lists");
    assert_eq!(p.misplaced().len(), plan.len() - 1);
    assert!(
        p.move_partitions(&plan[..1]).is_empty(),
        "a plan whose epoch is gone moves nothing"
    );
    p.set_live(node(3), false);
    let rest = p.move_partitions(&plan[1..]);
    assert!(rest.is_empty(), "never to a node that is down: {rest:?}");
    p.set_live(node(3), true);
    let rest = p.misplaced();
    let moved = p.move_partitions(&rest);
    assert_eq!(moved.len(), rest.len());
    assert!(p.misplaced().is_empty() && p.rebalance().is_empty());
    let mut epochs = moved.iter().map(|m| m.epoch).collect::<Vec<_>>();
    epochs.dedup();
    assert_eq!(epochs.len(), moved.len(), "each move has its own epoch");
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

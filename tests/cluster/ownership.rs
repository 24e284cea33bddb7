//! Who owns what, as the scenarios of the automatic rebalance check it: the
//! owners a node applied, whether they are the rendezvous owners over the
//! live nodes, and the bound within which they must get there.

use std::collections::BTreeMap;
use std::time::Duration;

use api::types::RecentMoveStatus;
use cluster::{NodeId, TopicName, placement::rendezvous_owner};
use testkit::{AutoRebalance, TestCluster, wait_for};

/// Partition → owner id, as node `at` has applied it (every topic).
pub type Owners = BTreeMap<(String, u32), Option<u64>>;

pub fn owners(cluster: &TestCluster, at: u64) -> Owners {
    cluster.node(at).consensus.read_local(|md| {
        md.placement()
            .owners()
            .flat_map(|(topic, slots)| {
                slots
                    .iter()
                    .enumerate()
                    .map(move |(i, o)| ((topic.to_string(), i as u32), o.map(|o| o.node.get())))
            })
            .collect()
    })
}

/// How many partitions differ in owner between two snapshots.
pub fn moved_between(before: &Owners, after: &Owners) -> usize {
    after
        .iter()
        .filter(|(key, owner)| before.get(*key) != Some(owner))
        .count()
}

/// The rendezvous owner of each of `topic`'s `partitions` over `nodes`.
pub fn rendezvous(topic: &str, partitions: u32, nodes: &[u64]) -> Vec<u64> {
    let topic = TopicName::new(topic).expect("valid topic name");
    (0..partitions)
        .map(|p| {
            rendezvous_owner(&topic, p, nodes.iter().copied().map(NodeId::new))
                .expect("some node")
                .get()
        })
        .collect()
}

/// Whether every running node sees exactly `live` as the live nodes and
/// every partition on its rendezvous owner over them (so each partition is
/// owned by exactly one live node).
pub fn settled_over(cluster: &TestCluster, live: &[u64]) -> bool {
    cluster.running().into_iter().all(|at| {
        cluster.node(at).consensus.read_local(|md| {
            let placement = md.placement();
            let mut seen: Vec<u64> = placement
                .nodes()
                .filter(|n| n.live)
                .map(|n| n.id.get())
                .collect();
            seen.sort_unstable();
            let owned_live = placement.owners().all(|(_, slots)| {
                slots
                    .iter()
                    .all(|o| o.is_some_and(|o| seen.contains(&o.node.get())))
            });
            seen == live && owned_live && placement.misplaced().is_empty()
        })
    })
}

/// The bound within which ownership is back on the rendezvous owners once
/// the returning node is live: the cool-down, one step per `moves_per_second`
/// partitions (the first step a period after the leader took over), and 10 s
/// for a leader election, the owner timeout and a loaded machine.
pub fn return_bound(moving: usize, rebalance: AutoRebalance) -> Duration {
    let steps = moving.div_ceil(rebalance.moves_per_second as usize) as u64;
    Duration::from_secs(rebalance.cooldown_seconds + steps + 1 + 10)
}

/// Waits until `live` are the live nodes everywhere and every partition is
/// on its rendezvous owner, at most `within`; returns how long it took.
pub async fn wait_settled(
    cluster: &TestCluster,
    live: &[u64],
    within: Duration,
) -> anyhow::Result<Duration> {
    let started = tokio::time::Instant::now();
    wait_for(
        &format!("every partition on its rendezvous owner over nodes {live:?}"),
        within,
        || async { settled_over(cluster, live).then_some(()) },
    )
    .await?;
    Ok(started.elapsed())
}

/// The largest number of `moves` applied within any one second.
pub fn most_in_one_second(moves: &[&RecentMoveStatus]) -> usize {
    let mut at: Vec<u64> = moves.iter().map(|m| m.at_millis).collect();
    at.sort_unstable();
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|&&t| t < at[i] + 1_000).count())
        .max()
        .unwrap_or(0)
}

/// Partitions the automatic rebalance moved, over the running nodes'
/// `pubsubgo_rebalance_moves_total`.
pub fn rebalance_moves(cluster: &TestCluster) -> u64 {
    cluster
        .running()
        .into_iter()
        .map(|id| cluster.node(id).broker.metrics.raft.rebalance_moves.get())
        .sum()
}

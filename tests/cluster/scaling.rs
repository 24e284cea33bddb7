//! Autoscaling: 3 → 5 → 3 nodes, one non-voting member at a time (what the
//! HorizontalPodAutoscaler does), under a publish load on Redis. No operator
//! runs a rebalance: a member that joins gets its share from the automatic
//! rebalance, a member that stops drains. After every step each partition is
//! owned by exactly one live node (its rendezvous owner), the step moved
//! between 15 % and 35 % of the partitions (about 1/N: 25 %, 20 %, 20 %,
//! 25 %), the voters are still 1, 2 and 3, and no acknowledged message is lost.

use std::collections::BTreeSet;
use std::time::Duration;

use cluster::NodeId;
use testkit::{AutoRebalance, Storage, TestCluster};

use crate::load::PublishLoad;
use crate::ownership::{Owners, moved_between, owners, return_bound, wait_settled};
use crate::support::{all_registered, assert_all_delivered, create_subscription, create_topic};

const PARTITIONS: u32 = 120;
const REBALANCE: AutoRebalance = AutoRebalance {
    moves_per_second: 10,
    cooldown_seconds: 2,
};

fn voters(cluster: &TestCluster) -> Vec<Vec<u64>> {
    cluster
        .running()
        .into_iter()
        .map(|id| {
            let m = cluster.node(id).consensus.metrics();
            m.voters.iter().map(|v: &NodeId| v.get()).collect()
        })
        .collect()
}

/// Waits for `live` to be settled, then checks the step's share of moved
/// partitions and the voters; returns the owners after the step.
async fn step_done(
    cluster: &TestCluster,
    load: &PublishLoad,
    before: &Owners,
    live: &[u64],
) -> anyhow::Result<Owners> {
    let took = wait_settled(
        cluster,
        live,
        return_bound(PARTITIONS as usize / 3, REBALANCE),
    )
    .await?;
    let after = owners(cluster, 1);
    let share = moved_between(before, &after) as f64 / f64::from(PARTITIONS);
    tracing::info!(?live, ?took, share, "step settled");
    assert!(
        (0.15..=0.35).contains(&share),
        "the step to {live:?} moved {:.1} % of the partitions",
        share * 100.0
    );
    for seen in voters(cluster) {
        assert_eq!(seen, [1, 2, 3], "voters changed");
    }
    load.progress(20, Duration::from_secs(30)).await?;
    Ok(after)
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn scaling_three_to_five_to_three_moves_a_share_per_step_and_loses_nothing()
-> anyhow::Result<()> {
    tracing::info!("arrange: three voters on Redis, the automatic rebalance on, a publish load");
    let mut cluster =
        TestCluster::start_rebalancing(3, Storage::shared_redis(), Some(REBALANCE)).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "scaling", PARTITIONS).await?;
    create_subscription(&cluster.client(1), "scaling-sub", "scaling").await?;
    wait_settled(&cluster, &[1, 2, 3], Duration::from_secs(10)).await?;
    let load = PublishLoad::start(
        vec![cluster.client(1), cluster.client(2), cluster.client(3)],
        "scaling",
    );
    load.progress(20, Duration::from_secs(30)).await?;
    let mut before = owners(&cluster, 1);

    tracing::info!("act: scale out to 4, then 5 members");
    let fourth = cluster.add_member().await?;
    before = step_done(&cluster, &load, &before, &[1, 2, 3, fourth]).await?;
    let fifth = cluster.add_member().await?;
    before = step_done(&cluster, &load, &before, &[1, 2, 3, fourth, fifth]).await?;

    tracing::info!("act: scale in to 4, then 3 (each member drains as it stops)");
    cluster.stop(fifth).await?;
    before = step_done(&cluster, &load, &before, &[1, 2, 3, fourth]).await?;
    cluster.stop(fourth).await?;
    step_done(&cluster, &load, &before, &[1, 2, 3]).await?;

    let (acked, unacked) = load.stop().await?;
    tracing::info!(
        acked = acked.len(),
        unacked,
        "assert: every acknowledged message arrives"
    );
    let status = cluster.client(2).cluster_status().await?;
    let ids: BTreeSet<u64> = status.nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids, BTreeSet::from([1, 2, 3]), "{status:?}");
    assert!(status.learners.is_empty(), "{status:?}");
    assert_all_delivered(
        &cluster.client(2),
        "scaling-sub",
        &acked,
        Duration::from_secs(90),
    )
    .await?;
    cluster.shutdown().await;
    Ok(())
}

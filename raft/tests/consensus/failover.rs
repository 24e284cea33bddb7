use std::time::{Duration, Instant};

use crate::harness::{TestCluster, create_topic, topic};

/// The leader crashes (stops without handing leadership over): the others
/// elect a new one within 5 s and keep accepting proposals.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_new_leader_is_elected_within_five_seconds_and_proposals_continue() -> anyhow::Result<()>
{
    let mut cluster = TestCluster::start(3, 1_000).await?;
    let old = cluster.agreed_leader().await?;
    cluster.node(old).propose(create_topic("before")).await?;

    tracing::info!(%old, "--- the leader crashes");
    let stopped = Instant::now();
    cluster.crash(old).await;

    tracing::info!("--- a survivor becomes leader");
    let survivor = cluster.running().next().expect("two nodes run");
    survivor
        .wait_until(Duration::from_secs(5), |m| {
            m.leader.is_some_and(|l| l != old)
        })
        .await?;
    let new = cluster.agreed_leader().await?;
    let failover = stopped.elapsed();
    tracing::info!(%new, ?failover, "--- new leader");
    eprintln!("leader failover: {failover:?} (node {old} -> node {new})");
    assert_ne!(new, old);
    assert!(
        failover < Duration::from_secs(5),
        "failover took {failover:?}"
    );

    tracing::info!("--- proposals continue, from either survivor");
    let follower = cluster.follower(new);
    cluster
        .node(follower)
        .propose(create_topic("after"))
        .await?;
    let seen = cluster
        .node(new)
        .read(|m| m.topic(&topic("before")).is_some() && m.topic(&topic("after")).is_some())
        .await?;
    assert!(seen);
    cluster.shutdown().await;
    Ok(())
}

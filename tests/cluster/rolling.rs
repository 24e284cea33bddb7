//! A rolling restart of every voter under a publish load: leadership is
//! handed over when the leader stops (no election storm), ownership is back
//! on the rendezvous owners after each restart without a manual rebalance
//! (the automatic rebalance, within [`return_bound`]), and no message the
//! cluster acknowledged is lost.

use std::time::Duration;

use testkit::{AutoRebalance, Storage, TestCluster, wait_for};

use crate::load::PublishLoad;
use crate::ownership::{return_bound, wait_settled};
use crate::support::{all_registered, assert_all_delivered, create_subscription, create_topic};

/// A graceful stop of the leader moves leadership with one election; allow
/// one more for a transfer that timed out on a loaded machine and fell back to
/// an ordinary election. More than that would be an election storm.
const MAX_TERMS_PER_RESTART: u64 = 2;

const PARTITIONS: u32 = 24;
const REBALANCE: AutoRebalance = AutoRebalance {
    moves_per_second: 10,
    cooldown_seconds: 2,
};

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_rolling_restart_under_load_hands_leadership_over_and_loses_nothing() -> anyhow::Result<()>
{
    tracing::info!("arrange: three voters on Redis and a publish load through all of them");
    let mut cluster =
        TestCluster::start_rebalancing(3, Storage::shared_redis(), Some(REBALANCE)).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "rolling", PARTITIONS).await?;
    create_subscription(&cluster.client(1), "rolling-sub", "rolling").await?;
    let load = PublishLoad::start(
        vec![cluster.client(1), cluster.client(2), cluster.client(3)],
        "rolling",
    );
    load.progress(20, Duration::from_secs(30)).await?;

    for id in 1..=3 {
        let leader = wait_for("a leader", Duration::from_secs(30), || async {
            cluster.leader()
        })
        .await?;
        let term = cluster.node(leader).consensus.metrics().term;
        tracing::info!(id, leader, term, "act: node {id} stops gracefully");
        cluster.stop(id).await?;
        let after = wait_for(
            "a leader among the running nodes",
            Duration::from_secs(30),
            || async { cluster.leader() },
        )
        .await?;
        let new_term = cluster.node(after).consensus.metrics().term;
        if leader == id {
            assert_ne!(after, id);
            assert!(
                new_term > term && new_term - term <= MAX_TERMS_PER_RESTART,
                "leadership went from node {leader} in term {term} to node {after} in term {new_term}"
            );
        }
        load.progress(20, Duration::from_secs(30)).await?;

        tracing::info!(id, "node {id} starts again");
        cluster.restart(id).await?;
        let client = cluster.client(1);
        wait_for(
            "the cluster healthy again",
            Duration::from_secs(60),
            || async {
                let status = client.cluster_status().await.ok()?;
                (status.healthy && status.nodes.iter().filter(|n| n.live).count() == 3)
                    .then_some(())
            },
        )
        .await?;
        // The stopped node's share is about a third; bound it by all of them.
        let bound = return_bound(PARTITIONS as usize, REBALANCE);
        let took = wait_settled(&cluster, &[1, 2, 3], bound).await?;
        tracing::info!(id, ?took, ?bound, "ownership back on the rendezvous owners");
        load.progress(20, Duration::from_secs(30)).await?;
    }
    let (acked, unacked) = load.stop().await?;

    tracing::info!(
        acked = acked.len(),
        unacked,
        "assert: every acknowledged message arrives"
    );
    assert_all_delivered(
        &cluster.client(2),
        "rolling-sub",
        &acked,
        Duration::from_secs(90),
    )
    .await?;
    cluster.shutdown().await;
    Ok(())
}

//! Non-voting members: a node outside the voter list joins by itself, takes
//! partitions and serves clients, and drains when stopped, under a publish
//! load that must lose nothing it was told was stored.

use std::collections::BTreeSet;
use std::time::Duration;

use cluster::NodeId;
use testkit::{Storage, TestCluster, wait_for};

use crate::load::PublishLoad;
use crate::support::{
    all_registered, assert_all_delivered, create_subscription, create_topic, publish_one,
};

const PARTITIONS: u32 = 24;

fn ids(set: &BTreeSet<NodeId>) -> Vec<u64> {
    set.iter().map(|id| id.get()).collect()
}

/// Partitions of `topic` owned by `node`, as node `at` has applied them.
fn owned_by(cluster: &TestCluster, at: u64, topic: &str, node: u64) -> usize {
    crate::support::owners(cluster, at, topic)
        .iter()
        .flatten()
        .filter(|o| o.node.get() == node)
        .count()
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_member_joins_takes_partitions_and_drains_without_losing_acknowledged_messages()
-> anyhow::Result<()> {
    tracing::info!("arrange: three voters on Redis, a topic under a publish load");
    let mut cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "members", PARTITIONS).await?;
    create_subscription(&cluster.client(1), "members-sub", "members").await?;
    let load = PublishLoad::start(
        vec![cluster.client(1), cluster.client(2), cluster.client(3)],
        "members",
    );
    load.progress(20, Duration::from_secs(30)).await?;

    tracing::info!("act: a fourth node outside the voter list starts");
    let member = cluster.add_member().await?;
    wait_for(
        "the new node a learner and registered live everywhere",
        Duration::from_secs(30),
        || async {
            let joined = cluster.running().iter().all(|&id| {
                let m = cluster.node(id).consensus.metrics();
                m.learners.contains(&NodeId::new(member)) && ids(&m.voters) == [1, 2, 3]
            });
            (joined && crate::support::live_everywhere(&cluster, member)).then_some(())
        },
    )
    .await?;
    let moves = cluster.client(2).rebalance(false).await?.moves;
    assert!(!moves.is_empty(), "the member got no partitions");
    assert!(moves.iter().all(|m| m.to == member), "{moves:?}");
    wait_for(
        "the member to see its partitions",
        Duration::from_secs(10),
        || async { (owned_by(&cluster, member, "members", member) == moves.len()).then_some(()) },
    )
    .await?;
    tracing::info!(
        partitions = moves.len(),
        "the member owns partitions and serves clients"
    );
    for i in 0..8 {
        assert!(
            publish_one(
                &cluster.client(member),
                "members",
                &format!("via-member-{i}")
            )
            .await?
        );
    }
    load.progress(50, Duration::from_secs(30)).await?;

    tracing::info!("act: the member stops gracefully and drains");
    cluster.stop(member).await?;
    load.progress(50, Duration::from_secs(30)).await?;
    let (acked, unacked) = load.stop().await?;

    tracing::info!(
        acked = acked.len(),
        unacked,
        "assert: membership back to the voters, nothing lost"
    );
    for id in cluster.running() {
        let m = cluster.node(id).consensus.metrics();
        assert_eq!(ids(&m.voters), [1, 2, 3], "node {id}: {m:?}");
        assert!(m.learners.is_empty(), "node {id} still has learners: {m:?}");
    }
    let status = cluster.client(1).cluster_status().await?;
    assert!(status.nodes.iter().all(|n| n.id != member), "{status:?}");
    assert!(
        status
            .partitions
            .iter()
            .all(|p| p.node.is_some_and(|n| n != member))
    );
    assert!(status.healthy, "{status:?}");
    let mut expected = acked.clone();
    expected.extend((0..8).map(|i| format!("via-member-{i}")));
    assert_all_delivered(
        &cluster.client(2),
        "members-sub",
        &expected,
        Duration::from_secs(60),
    )
    .await?;
    cluster.shutdown().await;
    Ok(())
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_drained_member_restarted_on_its_data_directory_joins_again() -> anyhow::Result<()> {
    tracing::info!("arrange: three voters, a member that joined, took partitions and drained");
    let mut cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "rejoin", PARTITIONS).await?;
    let member = cluster.add_member().await?;
    let learner_everywhere = |cluster: &TestCluster| {
        cluster.running().iter().all(|&id| {
            let m = cluster.node(id).consensus.metrics();
            m.learners.contains(&NodeId::new(member)) && ids(&m.voters) == [1, 2, 3]
        })
    };
    wait_for("the member a learner", Duration::from_secs(30), || async {
        (learner_everywhere(&cluster) && crate::support::live_everywhere(&cluster, member))
            .then_some(())
    })
    .await?;
    cluster.stop(member).await?;
    wait_for("the member gone", Duration::from_secs(30), || async {
        cluster
            .running()
            .iter()
            .all(|&id| cluster.node(id).consensus.metrics().learners.is_empty())
            .then_some(())
    })
    .await?;

    tracing::info!("act: the member starts again on the same data directory");
    // Its own log still names it a learner (the entry that removed it was
    // never sent to it): it must ask to join, not wait for entries.
    tokio::time::timeout(Duration::from_secs(60), cluster.restart(member)).await??;

    tracing::info!("assert: a learner again, registered, live and given partitions");
    wait_for("the member back", Duration::from_secs(30), || async {
        (learner_everywhere(&cluster) && crate::support::live_everywhere(&cluster, member))
            .then_some(())
    })
    .await?;
    let moves = cluster.client(2).rebalance(false).await?.moves;
    assert!(
        moves.iter().all(|m| m.to == member) && !moves.is_empty(),
        "{moves:?}"
    );
    cluster.shutdown().await;
    Ok(())
}

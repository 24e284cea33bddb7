use crate::harness::{TestCluster, WAIT, create_topic, id, topic};

/// A follower stops, the group moves on, and the follower restarted on its
/// data directory rejoins (without forming a new group) and catches up.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_restarted_node_rejoins_and_catches_up() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, 1_000).await?;
    let leader = cluster.agreed_leader().await?;
    let follower = cluster.follower(leader);
    cluster.node(leader).propose(create_topic("t-000")).await?;
    let term_before = cluster.node(leader).metrics().term;

    tracing::info!(%follower, "--- stop a follower; the others commit more");
    cluster.stop(follower).await;
    for i in 1..=5 {
        cluster
            .node(leader)
            .propose(create_topic(&format!("t-{i:03}")))
            .await?;
    }
    let commit = cluster.node(leader).metrics().commit_index;

    tracing::info!("--- restart it on its data directory");
    let node = cluster.restart(follower).await?;
    node.wait_until(WAIT, |m| m.applied_index >= commit).await?;
    let all = node.read_local(|m| (0..=5).all(|i| m.topic(&topic(&format!("t-{i:03}"))).is_some()));
    assert!(all, "the restarted node misses topics");
    let m = node.metrics();
    assert!(m.term >= term_before);
    assert_eq!(m.voters.len(), 3, "it rejoined the same group");
    cluster.shutdown().await;
    Ok(())
}

/// With a small snapshot threshold the log is compacted; a node restarted
/// after compaction rebuilds its state from the snapshot on its disk.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn snapshots_compact_the_log_and_a_restart_recovers_from_one() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(1, 5).await?;

    tracing::info!("--- commit enough to snapshot and purge");
    for i in 0..12 {
        cluster
            .node(id(1))
            .propose(create_topic(&format!("s-{i:03}")))
            .await?;
    }
    let compacted = cluster
        .node(id(1))
        .wait_until(WAIT, |m| {
            m.snapshot_index >= Some(5) && m.purged_index >= Some(5)
        })
        .await?;
    tracing::info!(?compacted.snapshot_index, ?compacted.purged_index, "--- compacted");

    tracing::info!("--- restart: the purged prefix can only come back from the snapshot");
    cluster.stop(id(1)).await;
    let node = cluster.restart(id(1)).await?;
    let m = node
        .wait_until(WAIT, |m| {
            m.leader == Some(id(1)) && m.applied_index >= compacted.applied_index
        })
        .await?;
    assert!(
        m.purged_index >= compacted.purged_index,
        "the log was purged"
    );
    let all = node
        .read(|m| (0..12).all(|i| m.topic(&topic(&format!("s-{i:03}"))).is_some()))
        .await?;
    assert!(all, "state lost across a restart after compaction");
    cluster.shutdown().await;
    Ok(())
}

/// A follower that missed entries the leader already purged catches up by
/// receiving the leader's snapshot.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_lagging_follower_catches_up_from_the_leaders_snapshot() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, 5).await?;
    let leader = cluster.agreed_leader().await?;
    let follower = cluster.follower(leader);

    tracing::info!(
        %follower,
        "--- stop a follower; the leader commits and purges"
    );
    cluster.stop(follower).await;
    for i in 0..15 {
        cluster
            .node(leader)
            .propose(create_topic(&format!("l-{i:03}")))
            .await?;
    }
    let purged = cluster
        .node(leader)
        .wait_until(WAIT, |m| m.purged_index >= Some(10))
        .await?;

    tracing::info!("--- restart it: it needs the snapshot");
    let node = cluster.restart(follower).await?;
    let m = node
        .wait_until(WAIT, |m| {
            m.applied_index >= purged.applied_index && m.snapshot_index.is_some()
        })
        .await?;
    tracing::info!(?m.snapshot_index, "--- caught up");
    let all = node.read_local(|m| (0..15).all(|i| m.topic(&topic(&format!("l-{i:03}"))).is_some()));
    assert!(all);
    cluster.shutdown().await;
    Ok(())
}

//! Losing nodes: the leader (acceptance 1) and a partition owner (acceptance 2).

use std::collections::BTreeSet;
use std::time::Duration;

use cluster::{Epoch, TopicName};
use node::storage::{AppendOptions, FencedLog, MessageLog, NewMessage, PartitionRef, StorageError};
use testkit::cluster::OWNER_TIMEOUT_SECONDS;
use testkit::{Storage, TestCluster, wait_for};

use crate::support::{
    all_registered, create_subscription, create_topic, drain, live_everywhere, owners, publish_one,
};

/// The metadata group's heartbeat period (`raft::ConsensusConfig`'s default).
const RAFT_HEARTBEAT: Duration = Duration::from_millis(250);

/// Publishes `data` through the running nodes in turn until one acknowledges
/// it, for at most `within`.
async fn publish_until_acked(
    cluster: &TestCluster,
    topic: &str,
    data: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let nodes = cluster.running();
    let mut turn = 0;
    wait_for(&format!("an ack for {data}"), within, || {
        turn += 1;
        let id = nodes[turn % nodes.len()];
        async move {
            publish_one(&cluster.client(id), topic, data)
                .await
                .ok()?
                .then_some(())
        }
    })
    .await
}

/// Acceptance 1: kill the leader of a 3-node cluster on Redis: a new leader
/// within 5 s, publishing through the survivors goes on, and every
/// acknowledged publish is delivered.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn killing_the_leader_elects_another_and_loses_no_acknowledged_publish() -> anyhow::Result<()>
{
    let mut cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "orders", 6).await?;
    create_subscription(&cluster.client(2), "orders-sub", "orders").await?;
    let mut acked = BTreeSet::new();
    for i in 0..60 {
        let data = format!("before-{i}");
        publish_until_acked(&cluster, "orders", &data, Duration::from_secs(5)).await?;
        acked.insert(data);
    }

    let old = wait_for("a leader", Duration::from_secs(5), || async {
        cluster.leader()
    })
    .await?;
    cluster.kill(old).await;
    let killed_at = tokio::time::Instant::now();
    let new = wait_for("a new leader", Duration::from_secs(10), || async {
        cluster.leader().filter(|&l| l != old)
    })
    .await?;
    let elected_after = killed_at.elapsed();
    eprintln!("node {new} leads {elected_after:?} after node {old} was killed");
    assert!(
        elected_after < Duration::from_secs(5),
        "node {new} led only after {elected_after:?}"
    );

    // Partitions of the dead leader refuse writes (503) until they move.
    for i in 0..60 {
        let data = format!("after-{i}");
        publish_until_acked(&cluster, "orders", &data, Duration::from_secs(15)).await?;
        acked.insert(data);
    }
    let survivor = cluster.running()[0];
    let delivered = drain(
        &cluster.client(survivor),
        "orders-sub",
        acked.len(),
        Duration::from_secs(20),
    )
    .await?;
    let lost: Vec<&String> = acked.difference(&delivered).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but never delivered: {lost:?}"
    );
    cluster.shutdown().await;
    Ok(())
}

/// Acceptance 2: kill a partition owner: its partitions get new owners with
/// higher epochs within the owner timeout; restarted, it rejoins with no
/// partitions and gets them back only from a committed rebalance.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_dead_owner_loses_its_partitions_and_gets_them_back_by_rebalance() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "events", 12).await?;
    create_subscription(&cluster.client(1), "events-sub", "events").await?;
    let leader = wait_for("a leader", Duration::from_secs(5), || async {
        cluster.leader()
    })
    .await?;
    let before = owners(&cluster, leader, "events");
    let victim = cluster
        .running()
        .into_iter()
        .filter(|&id| id != leader)
        .max_by_key(|&id| {
            before
                .iter()
                .flatten()
                .filter(|o| o.node.get() == id)
                .count()
        })
        .expect("a follower");
    let theirs: Vec<(usize, Epoch)> = before
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.filter(|o| o.node.get() == victim).map(|o| (i, o.epoch)))
        .collect();
    assert!(!theirs.is_empty(), "node {victim} owns nothing: {before:?}");
    for i in 0..24 {
        publish_until_acked(&cluster, "events", &format!("e{i}"), Duration::from_secs(5)).await?;
    }

    cluster.kill(victim).await;
    let killed_at = tokio::time::Instant::now();
    let timeout = Duration::from_secs(OWNER_TIMEOUT_SECONDS);
    wait_for(
        "the dead owner's partitions to move",
        timeout + Duration::from_secs(5),
        || async {
            let now = owners(&cluster, leader, "events");
            theirs
                .iter()
                .all(|&(i, epoch)| {
                    now[i].is_some_and(|o| o.node.get() != victim && o.epoch > epoch)
                })
                .then_some(())
        },
    )
    .await?;
    let moved_after = killed_at.elapsed();
    eprintln!("partitions of node {victim} moved {moved_after:?} after it was killed");
    // The leader counts silence from the node's last acknowledgement, which
    // comes before the kill by up to a Raft heartbeat (250 ms,
    // raft/src/config.rs), or two when the loaded machine delays one.
    let earliest = timeout - 2 * RAFT_HEARTBEAT;
    assert!(
        moved_after >= earliest,
        "moved before the owner timeout less two heartbeats ({earliest:?}): {moved_after:?}"
    );
    // Each new owner claims its partition in Redis with its epoch before it
    // serves it (storage sync); from then on the old owner, had it kept running
    // unaware, could not write. (Between the Raft commit and that claim an old
    // owner is kept out by its own ownership lease, not by storage.)
    let moved = owners(&cluster, leader, "events");
    wait_for(
        "the new owners to claim their partitions in Redis",
        Duration::from_secs(10),
        || async {
            for &(i, _) in &theirs {
                let wanted = moved[i].map(|o| o.epoch.get());
                let stored = cluster.stored_epoch("events", i as u32).await.ok()??;
                if Some(stored) < wanted {
                    return None;
                }
            }
            Some(())
        },
    )
    .await?;
    let redis = cluster.redis().await?.expect("redis storage");
    let options = AppendOptions::plain(redis.ack_level());
    for &(i, old_epoch) in &theirs {
        let at = PartitionRef {
            topic: TopicName::new("events")?,
            partition: i as u32,
        };
        let stale = redis
            .append_fenced(&at, old_epoch, vec![stale_message()], &options)
            .await;
        assert!(
            matches!(stale, Err(StorageError::Fenced { .. })),
            "partition {i}: a write with the lost epoch {old_epoch} got {stale:?}"
        );
    }
    // The survivors serve every message, including those on moved partitions.
    let got = drain(
        &cluster.client(leader),
        "events-sub",
        24,
        Duration::from_secs(10),
    )
    .await?;
    assert_eq!(got.len(), 24, "{got:?}");

    cluster.restart(victim).await?;
    wait_for(
        "the restarted node live again",
        Duration::from_secs(10),
        || async { live_everywhere(&cluster, victim).then_some(()) },
    )
    .await?;
    let owned = |cluster: &TestCluster| {
        owners(cluster, leader, "events")
            .iter()
            .flatten()
            .filter(|o| o.node.get() == victim)
            .count()
    };
    assert_eq!(
        owned(&cluster),
        0,
        "partitions came back without a rebalance"
    );

    let moves = cluster.client(victim).rebalance(false).await?.moves;
    assert_eq!(moves.len(), theirs.len(), "{moves:?}");
    assert!(moves.iter().all(|m| m.to == victim));
    assert_eq!(owned(&cluster), theirs.len());
    // And the returned owner serves them.
    for i in 0..12 {
        publish_until_acked(
            &cluster,
            "events",
            &format!("back{i}"),
            Duration::from_secs(5),
        )
        .await?;
    }
    let got = drain(
        &cluster.client(victim),
        "events-sub",
        12,
        Duration::from_secs(10),
    )
    .await?;
    assert_eq!(got.len(), 12, "{got:?}");
    cluster.shutdown().await;
    Ok(())
}

fn stale_message() -> NewMessage {
    testkit::storage::message("from a stale owner", 0)
}

/// A node cut off from the majority stops acknowledging writes for the
/// partitions it owns within half the owner timeout, before the others may
/// have moved them (its ownership lease ran out); it serves again once it is
/// back in a majority.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_node_without_a_majority_stops_acknowledging_publishes() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, Storage::Memory).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "lonely", 6).await?;
    let survivor = 1;
    let owned = owners(&cluster, survivor, "lonely")
        .iter()
        .flatten()
        .filter(|o| o.node.get() == survivor)
        .count();
    assert!(owned > 0, "node {survivor} owns nothing");
    assert!(publish_one(&cluster.client(survivor), "lonely", "together").await?);

    cluster.kill(2).await;
    cluster.kill(3).await;
    let cut_at = tokio::time::Instant::now();
    let lease = Duration::from_secs(OWNER_TIMEOUT_SECONDS) / 2;
    wait_for(
        "publishes refused",
        lease + Duration::from_secs(3),
        || async {
            (!publish_one(&cluster.client(survivor), "lonely", "alone")
                .await
                .ok()?)
            .then_some(())
        },
    )
    .await?;
    let refused_after = cut_at.elapsed();
    eprintln!("node {survivor} refused publishes {refused_after:?} after losing its majority");
    assert!(
        refused_after < Duration::from_secs(OWNER_TIMEOUT_SECONDS),
        "still acknowledging after the owner timeout: {refused_after:?}"
    );
    for i in 0..5 {
        assert!(
            !publish_one(&cluster.client(survivor), "lonely", &format!("alone-{i}")).await?,
            "acknowledged a publish without a majority"
        );
    }

    cluster.restart(2).await?;
    wait_for(
        "publishes acknowledged again",
        Duration::from_secs(15),
        || async {
            publish_one(&cluster.client(survivor), "lonely", "reunited")
                .await
                .ok()?
                .then_some(())
        },
    )
    .await?;
    cluster.shutdown().await;
    Ok(())
}

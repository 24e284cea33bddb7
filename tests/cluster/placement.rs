//! Growing the cluster: a 4th node joins and a rebalance gives it its share.

use std::time::Duration;

use cluster::NodeId;

use testkit::{Storage, TestCluster, wait_for};

use crate::support::{create_subscription, create_topic, drain, live_everywhere, publish_one};

/// Acceptance 3: adding a 4th node moves between 15% and 35% of the
/// partitions, all to the new node, and only through the rebalance.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_fourth_node_joins_and_a_rebalance_moves_about_a_quarter() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, Storage::Memory).await?;
    crate::support::all_registered(&cluster).await?;
    let mut total: u32 = 0;
    for t in 0..4 {
        create_topic(&cluster.client(1), &format!("topic-{t}"), 32).await?;
        total += 32;
    }
    let new = cluster.add_node().await?;
    wait_for(
        "the new node a live voter everywhere",
        Duration::from_secs(15),
        || async {
            let voter = cluster.running().iter().all(|&id| {
                cluster
                    .node(id)
                    .consensus
                    .metrics()
                    .voters
                    .contains(&NodeId::new(new))
            });
            (voter && live_everywhere(&cluster, new)).then_some(())
        },
    )
    .await?;
    let owned_by_new = cluster.node(1).consensus.read_local(|md| {
        md.placement()
            .owners()
            .flat_map(|(_, owners)| owners.iter().flatten())
            .filter(|o| o.node.get() == new)
            .count()
    });
    assert_eq!(
        owned_by_new, 0,
        "the new node took partitions before the rebalance"
    );
    let plan = cluster.client(1).rebalance(true).await?;
    assert!(plan.dry_run);
    assert_eq!(plan.partitions, u64::from(total));
    let moves = cluster.client(new).rebalance(false).await?.moves;
    assert_eq!(plan.moves, moves, "the dry run and the rebalance differ");
    let share = moves.len() as f64 / f64::from(total);
    assert!(
        (0.15..=0.35).contains(&share),
        "moved {} of {total}",
        moves.len()
    );
    assert!(moves.iter().all(|m| m.to == new));

    // The new node serves clients for partitions it now owns.
    create_subscription(&cluster.client(new), "topic-0-sub", "topic-0").await?;
    for i in 0..32 {
        assert!(publish_one(&cluster.client(new), "topic-0", &format!("n{i}")).await?);
    }
    let got = drain(
        &cluster.client(2),
        "topic-0-sub",
        32,
        Duration::from_secs(10),
    )
    .await?;
    assert_eq!(got.len(), 32);
    cluster.shutdown().await;
    Ok(())
}

/// Leaving: `remove-node` takes a node out of the Raft voters and hands its
/// partitions to the others, who serve them; the status no longer lists it.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_removed_node_hands_over_its_partitions_and_leaves_the_voters() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    crate::support::all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "shrink", 24).await?;
    create_subscription(&cluster.client(1), "shrink-sub", "shrink").await?;
    let owned_by_3 = crate::support::owners(&cluster, 1, "shrink")
        .iter()
        .flatten()
        .filter(|o| o.node.get() == 3)
        .count();
    assert!(owned_by_3 > 0);

    let removed = cluster.client(2).remove_node(3).await?;
    assert_eq!(removed.moves.len(), owned_by_3);
    assert!(removed.moves.iter().all(|m| m.from == Some(3) && m.to != 3));
    let status = cluster.client(1).cluster_status().await?;
    assert!(!status.voters.contains(&3), "{status:?}");
    assert!(status.nodes.iter().all(|n| n.id != 3), "{status:?}");
    assert!(status.partitions.iter().all(|p| p.node != Some(3)));
    cluster.stop(3).await?;

    for i in 0..24 {
        assert!(publish_one(&cluster.client(1), "shrink", &format!("s{i}")).await?);
    }
    let got = drain(
        &cluster.client(2),
        "shrink-sub",
        24,
        Duration::from_secs(10),
    )
    .await?;
    assert_eq!(got.len(), 24);
    let healthy = cluster.client(1).cluster_status().await?;
    assert!(healthy.healthy, "{healthy:?}");
    cluster.shutdown().await;
    Ok(())
}

//! Any node serves any request: metadata writes, reads, publishes and pulls
//! on nodes that own nothing.

use std::time::Duration;

use api::client::ClientError;
use api::error::ErrorCode;
use testkit::{Storage, TestCluster};

use crate::support::{create_subscription, create_topic, drain, owners, publish_one};

/// Acceptance 5: a publish through a node that owns none of the topic's
/// partitions succeeds, and a pull on a third node receives it. Memory
/// storage: the message lives only on the owner, so forwarding must work.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_publish_on_a_non_owner_is_pulled_on_a_third_node() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    crate::support::all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "solo", 1).await?;
    create_subscription(&cluster.client(1), "solo-sub", "solo").await?;
    let owner = owners(&cluster, 1, "solo")[0].expect("owned").node.get();
    let others: Vec<u64> = cluster
        .running()
        .into_iter()
        .filter(|&id| id != owner)
        .collect();
    let (publisher, puller) = (others[0], others[1]);

    for i in 0..20 {
        assert!(
            publish_one(&cluster.client(publisher), "solo", &format!("m{i}")).await?,
            "publish {i} through node {publisher} (owner {owner}) failed"
        );
    }
    let got = drain(
        &cluster.client(puller),
        "solo-sub",
        20,
        Duration::from_secs(10),
    )
    .await?;
    assert_eq!(got.len(), 20, "node {puller} pulled {got:?}");
    // Nothing is left unacknowledged: the acks reached the owner too.
    let stats = cluster
        .client(owner)
        .get_subscription("solo-sub")
        .await?
        .stats
        .expect("stats");
    assert_eq!(stats.backlog_messages, 0, "{stats:?}");
    cluster.shutdown().await;
    Ok(())
}

/// Acceptance 4: two clients create the same topic at the same moment on
/// two nodes: exactly one succeeds, the other gets ALREADY_EXISTS; a read
/// right after on the third node sees the topic.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn concurrent_creates_on_two_nodes_one_wins_and_every_node_sees_it() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    let (one, two) = (cluster.client(1), cluster.client(2));
    for round in 0..5 {
        let name = format!("race-{round}");
        let (a, b) = tokio::join!(create_topic(&one, &name, 2), create_topic(&two, &name, 2));
        let outcomes = [a, b];
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {outcomes:?}");
        for lost in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            match lost.downcast_ref::<ClientError>() {
                Some(ClientError::Api(p)) => assert_eq!(p.code, ErrorCode::AlreadyExists),
                other => panic!("round {round}: expected ALREADY_EXISTS, got {other:?}"),
            }
        }
        let seen = cluster.client(3).get_topic(&name).await?;
        assert_eq!(seen.partitions, 2);
        let listed = cluster.client(3).list_topics(None, None).await?;
        assert!(listed.topics.iter().any(|t| t.name == name));
    }
    cluster.shutdown().await;
    Ok(())
}

/// A subscription acknowledged through one node starts before any publish
/// that follows it, wherever that publish lands: the owner (memory storage,
/// a third node) has its cursor before the create returns.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_publish_right_after_a_subscription_is_created_elsewhere_is_delivered()
-> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    crate::support::all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "fresh", 1).await?;
    let owner = owners(&cluster, 1, "fresh")[0].expect("owned").node.get();
    let others: Vec<u64> = cluster
        .running()
        .into_iter()
        .filter(|&id| id != owner)
        .collect();
    for round in 0..10 {
        let sub = format!("fresh-sub-{round}");
        create_subscription(&cluster.client(others[0]), &sub, "fresh").await?;
        let data = format!("right-after-{round}");
        assert!(publish_one(&cluster.client(others[1]), "fresh", &data).await?);
        let got = drain(&cluster.client(others[0]), &sub, 1, Duration::from_secs(5)).await?;
        assert!(got.contains(&data), "round {round}: {got:?}");
    }
    cluster.shutdown().await;
    Ok(())
}

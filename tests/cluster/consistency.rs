//! Regressions found in review: what a client sees right after a change made
//! through another node, and acks and retries across an owner change.

use std::time::Duration;

use api::client::PublishOptions;
use api::types::{
    CreateSubscriptionRequest, NackRequest, PublishRequest, PullRequest, StartPosition,
};
use testkit::client::{subscription, text};
use testkit::{Storage, TestCluster, wait_for};

use crate::support::{all_registered, create_topic, drain, owners, publish_one};

/// A topic created through one node is served at once by the others, even
/// by the owner of its partitions whose storage had not been given it yet.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_topic_created_elsewhere_is_served_at_once_by_every_node() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    all_registered(&cluster).await?;
    let (c1, c2, c3) = (cluster.client(1), cluster.client(2), cluster.client(3));
    for round in 0..40 {
        let name = format!("probe-{round}");
        create_topic(&c1, &name, 16).await?;
        let (a, b) = tokio::join!(c2.get_topic(&name), c3.get_topic(&name));
        a?;
        b?;
    }
    cluster.shutdown().await;
    Ok(())
}

/// A retry with the same idempotency key through another node stores nothing
/// new (the owner remembers the key, not only the node that took it first).
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn an_idempotent_retry_through_another_node_stores_nothing_new() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "idem", 1).await?;
    let request = PublishRequest {
        messages: vec![text("once")],
    };
    let options = PublishOptions {
        idempotency_key: Some("key-1".into()),
        ..PublishOptions::default()
    };
    let first = cluster
        .client(1)
        .publish("idem", &request, &options)
        .await?;
    let again = cluster
        .client(2)
        .publish("idem", &request, &options)
        .await?;
    assert_eq!(first.offsets, again.offsets);
    let topic = cluster.client(3).get_topic("idem").await?;
    assert_eq!(topic.stats.expect("stats").messages_published, 1);
    cluster.shutdown().await;
    Ok(())
}

/// On Redis, a subscription deleted and created again through a node that
/// does not own its partition starts over; the owner's cached cursor of the
/// first one is not served.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_recreated_subscription_starts_over_on_redis() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "again", 1).await?;
    let owner = owners(&cluster, 1, "again")[0].expect("owned").node.get();
    let other = cluster
        .running()
        .into_iter()
        .find(|&id| id != owner)
        .expect("another node");
    let c = cluster.client(other);
    let request = CreateSubscriptionRequest {
        start_position: Some(StartPosition::Earliest),
        ..subscription("again")
    };
    c.create_subscription("again-sub", &request).await?;
    for i in 0..5 {
        assert!(publish_one(&c, "again", &format!("m{i}")).await?);
    }
    assert_eq!(
        drain(&c, "again-sub", 5, Duration::from_secs(5))
            .await?
            .len(),
        5
    );
    c.delete_subscription("again-sub").await?;
    c.create_subscription("again-sub", &request).await?;
    let again = drain(&c, "again-sub", 5, Duration::from_secs(5)).await?;
    assert_eq!(again.len(), 5, "owner {owner}, via {other}: {again:?}");
    cluster.shutdown().await;
    Ok(())
}

/// On Redis, deleting a subscription and creating it again keeps the leases
/// the owner holds in memory for the topic's other subscriptions: they are
/// not delivered again before their deadline. (On one node the delete drops
/// the renewed subscription's cursor itself; a delete through another node is
/// `a_recreated_subscription_starts_over_on_redis`.)
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn renewing_a_subscription_keeps_the_leases_of_its_siblings_on_redis() -> anyhow::Result<()> {
    tracing::info!("arrange: two subscriptions of one topic, each holding leases");
    let cluster = TestCluster::start(1, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    let c = cluster.client(1);
    create_topic(&c, "siblings", 1).await?;
    let request = CreateSubscriptionRequest {
        start_position: Some(StartPosition::Earliest),
        ack_deadline_seconds: Some(60),
        ..subscription("siblings")
    };
    c.create_subscription("siblings-keep", &request).await?;
    c.create_subscription("siblings-churn", &request).await?;
    for i in 0..4 {
        assert!(publish_one(&c, "siblings", &format!("m{i}")).await?);
    }
    let pull = |max| PullRequest {
        max_messages: Some(max),
        wait_seconds: Some(1),
        ..PullRequest::default()
    };
    let offsets = |received: Vec<api::types::ReceivedMessage>| -> Vec<u64> {
        received.iter().map(|r| r.message.offset).collect()
    };
    let held = c.pull("siblings-keep", &pull(3)).await?.received_messages;
    assert_eq!(held.len(), 3);
    let churned = c.pull("siblings-churn", &pull(4)).await?.received_messages;
    assert_eq!(offsets(churned), vec![0, 1, 2, 3]);

    tracing::info!("act: delete one subscription and create it again");
    c.delete_subscription("siblings-churn").await?;
    c.create_subscription("siblings-churn", &request).await?;

    tracing::info!("assert: the sibling keeps its leases; the new one starts over");
    let next = c.pull("siblings-keep", &pull(10)).await?.received_messages;
    assert_eq!(offsets(next), vec![3], "held leases were delivered again");
    let again = c.pull("siblings-churn", &pull(10)).await?.received_messages;
    assert_eq!(
        offsets(again),
        vec![0, 1, 2, 3],
        "the old subscription's leases were kept"
    );
    cluster.shutdown().await;
    Ok(())
}

/// An ack id issued by a partition's previous owner does not ack the message
/// the new owner holds at the same offset and attempt.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn an_ack_from_before_an_owner_change_does_not_ack_the_new_owners_message()
-> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, Storage::Memory).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "stale", 1).await?;
    let owner = owners(&cluster, 1, "stale")[0].expect("owned").node.get();
    let others: Vec<u64> = cluster
        .running()
        .into_iter()
        .filter(|&id| id != owner)
        .collect();
    let c = cluster.client(others[0]);
    let request = CreateSubscriptionRequest {
        start_position: Some(StartPosition::Earliest),
        ..subscription("stale")
    };
    c.create_subscription("stale-sub", &request).await?;
    assert!(publish_one(&c, "stale", "old").await?);
    let pull = PullRequest {
        max_messages: Some(10),
        wait_seconds: Some(1),
        ..PullRequest::default()
    };
    let old = c.pull("stale-sub", &pull).await?.received_messages;
    assert_eq!(old.len(), 1);
    let old_ack = old[0].ack_id.clone();

    cluster.kill(owner).await;
    wait_for("the partition to move", Duration::from_secs(15), || async {
        owners(&cluster, others[0], "stale")[0]
            .filter(|o| o.node.get() != owner)
            .map(|_| ())
    })
    .await?;
    wait_for(
        "a publish on the new owner",
        Duration::from_secs(10),
        || async { publish_one(&c, "stale", "new").await.ok()?.then_some(()) },
    )
    .await?;
    let new = wait_for("the new message", Duration::from_secs(10), || async {
        let got = c.pull("stale-sub", &pull).await.ok()?.received_messages;
        (!got.is_empty()).then_some(got)
    })
    .await?;
    // Memory storage: the new owner starts empty, so offsets repeat.
    assert_eq!(new[0].message.offset, old[0].message.offset);
    assert_ne!(new[0].ack_id, old_ack);
    // The late ack of the old message is stale; it must not touch the new one.
    c.acknowledge("stale-sub", vec![old_ack]).await?;
    let nack = NackRequest {
        ack_ids: vec![new[0].ack_id.clone()],
        delay_seconds: Some(0),
        ..NackRequest::default()
    };
    c.nack_with("stale-sub", &nack).await?;
    let again = drain(&c, "stale-sub", 1, Duration::from_secs(5)).await?;
    assert!(
        again.contains("new"),
        "the nacked message never came back: {again:?}"
    );
    cluster.shutdown().await;
    Ok(())
}

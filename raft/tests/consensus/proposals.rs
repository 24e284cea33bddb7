use cluster::{MetadataError, Reply};
use raft::ConsensusError;

use crate::harness::{TestCluster, create_topic, topic};

/// A command proposed on a follower is forwarded, committed, and visible to a
/// linearizable read on every node.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_command_proposed_on_a_follower_is_applied_on_every_node() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, 1_000).await?;
    let leader = cluster.agreed_leader().await?;
    let follower = cluster.follower(leader);

    tracing::info!(%follower, "--- propose on a follower");
    let reply = cluster
        .node(follower)
        .propose(create_topic("orders"))
        .await?;
    assert!(matches!(reply, Reply::TopicCreated(ref t) if t.name == topic("orders")));

    tracing::info!("--- every node reads it, linearizably");
    for node in cluster.running() {
        let seen = node.read(|m| m.topic(&topic("orders")).is_some()).await?;
        assert!(seen, "node {} does not see the topic", node.node_id());
    }
    cluster.shutdown().await;
    Ok(())
}

/// Two nodes create the same topic at once: `apply` orders them, so exactly
/// one wins and the other gets a definite `TopicAlreadyExists`.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn concurrent_creates_of_one_topic_have_exactly_one_winner() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, 1_000).await?;
    let leader = cluster.agreed_leader().await?;
    let follower = cluster.follower(leader);

    tracing::info!(
        %leader,
        %follower,
        "--- both propose CreateTopic(payments) at once"
    );
    let (a, b) = tokio::join!(
        cluster.node(leader).propose(create_topic("payments")),
        cluster.node(follower).propose(create_topic("payments")),
    );

    let outcomes = [a, b];
    let wins = outcomes.iter().filter(|r| r.is_ok()).count();
    let already = outcomes
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(ConsensusError::Rejected(MetadataError::TopicAlreadyExists { name })) if name == "payments"
            )
        })
        .count();
    assert_eq!((wins, already), (1, 1), "outcomes: {outcomes:?}");
    cluster.shutdown().await;
    Ok(())
}

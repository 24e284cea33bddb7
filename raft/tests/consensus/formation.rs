use raft::Role;

use crate::harness::{TestCluster, WAIT, create_topic, id, ids};

/// Three pristine nodes: the lowest id initializes once all answer; one leads.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn three_nodes_form_a_group_and_elect_one_leader() -> anyhow::Result<()> {
    tracing::info!("--- start three pristine nodes");
    let cluster = TestCluster::start(3, 1_000).await?;

    tracing::info!("--- they agree on one leader and on the voters");
    let leader = cluster.agreed_leader().await?;
    for node in cluster.running() {
        let expected = if node.node_id() == leader {
            Role::Leader
        } else {
            Role::Follower
        };
        // A follower can know the leader before the membership entry reaches it.
        let settled = node
            .wait_until(WAIT, |m| {
                m.leader == Some(leader) && m.voters == ids([1, 2, 3]) && m.role == expected
            })
            .await;
        assert!(
            settled.is_ok(),
            "node {}: {:?}",
            node.node_id(),
            node.metrics()
        );
    }
    cluster.shutdown().await;
    Ok(())
}

/// A node alone, with no peers listed, forms a group of one and serves writes.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_single_node_initializes_itself() -> anyhow::Result<()> {
    let cluster = TestCluster::start(1, 1_000).await?;
    assert_eq!(cluster.agreed_leader().await?, id(1));
    cluster.node(id(1)).propose(create_topic("solo")).await?;
    cluster.shutdown().await;
    Ok(())
}

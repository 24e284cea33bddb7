use std::collections::BTreeSet;

use anyhow::Context;
use raft::{ConsensusError, Role};

use crate::harness::{Options, TestCluster, WAIT, create_topic, id, ids, topic};

/// Four nodes are listed and three expected to form the group: the three form
/// it alone, and the fourth, started later and pristine, joins as a voter and
/// catches up.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_pristine_listed_node_joins_the_group_the_others_formed() -> anyhow::Result<()> {
    tracing::info!("--- list four nodes, expect three to form the group, start those");
    let mut cluster = TestCluster::start_with(Options {
        started: 3,
        bootstrap_expect: Some(3),
        ..Options::new(4)
    })
    .await?;
    let leader = cluster.agreed_leader().await?;
    let formed = cluster
        .node(leader)
        .wait_until(WAIT, |m| m.voters == ids([1, 2, 3]))
        .await?;
    assert!(formed.learners.is_empty(), "{formed:?}");
    cluster.node(leader).propose(create_topic("early")).await?;

    tracing::info!("--- start the fourth, pristine: it joins on its own");
    let joined = cluster.restart(id(4)).await?.clone();
    let m = joined
        .wait_until(WAIT, |m| {
            m.voters == ids([1, 2, 3, 4]) && m.role == Role::Follower
        })
        .await?;
    assert!(m.learners.is_empty(), "promoted, not left a learner: {m:?}");
    let seen = joined.read(|m| m.topic(&topic("early")).is_some()).await?;
    assert!(seen, "the joined node caught up");

    tracing::info!("--- the leader counts it: a proposal commits with it");
    let leader = cluster.agreed_leader().await?;
    let view = cluster.node(leader).metrics();
    assert_eq!(view.voters, ids([1, 2, 3, 4]));
    assert!(view.members.contains_key(&id(4)), "{view:?}");
    joined.propose(create_topic("late")).await?;
    cluster.shutdown().await;
    Ok(())
}

/// A node that does not join on its own is added from a follower: the
/// request is forwarded to the leader, which promotes it. Adding it again
/// changes nothing.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn add_node_on_a_follower_adds_a_voter_and_is_idempotent() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, 1_000).await?;
    let leader = cluster.agreed_leader().await?;
    let follower = cluster.follower(leader);
    cluster.node(leader).propose(create_topic("before")).await?;

    tracing::info!("--- start node 9, which waits for a peer that never comes");
    let addr = cluster.start_outsider(id(9)).await?;
    assert!(cluster.node(id(9)).metrics().voters.is_empty());

    tracing::info!(%follower, "--- add it through a follower");
    cluster.node(follower).add_node(id(9), addr.clone()).await?;
    let view = cluster
        .node(leader)
        .wait_until(WAIT, |m| m.voters == ids([1, 2, 3, 9]))
        .await?;
    assert_eq!(view.members.get(&id(9)), Some(&addr));
    let outsider = cluster.node(id(9));
    outsider
        .wait_until(WAIT, |m| {
            m.voters.contains(&id(9)) && m.role == Role::Follower
        })
        .await?;
    assert!(
        outsider
            .read(|m| m.topic(&topic("before")).is_some())
            .await?
    );

    tracing::info!("--- adding it again writes nothing");
    let before = cluster.node(leader).metrics().last_log_index;
    cluster.node(leader).add_node(id(9), addr).await?;
    let after = cluster.node(leader).metrics();
    assert_eq!(after.last_log_index, before);
    assert_eq!(after.voters, ids([1, 2, 3, 9]));
    cluster.shutdown().await;
    Ok(())
}

/// Voters are removed through another node, again harmlessly, until one
/// remains; removing that one is refused.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn remove_node_shrinks_the_group_and_refuses_the_last_voter() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, 1_000).await?;
    let leader = cluster.agreed_leader().await?;
    let others: Vec<_> = (1..=3).map(id).filter(|&n| n != leader).collect();
    let (gone, asker) = (others[0], others[1]);

    tracing::info!(%gone, %asker, "--- remove a follower through the other one");
    cluster.node(asker).remove_node(gone).await?;
    let remaining = BTreeSet::from([leader, asker]);
    let view = cluster
        .node(leader)
        .wait_until(WAIT, |m| m.voters == remaining)
        .await?;
    assert!(!view.members.contains_key(&gone), "{view:?}");
    cluster.node(asker).remove_node(gone).await?;
    cluster.node(asker).propose(create_topic("pair")).await?;

    tracing::info!("--- remove down to one voter; the last one stays");
    cluster.node(leader).remove_node(asker).await?;
    let refused = cluster.node(leader).remove_node(leader).await;
    assert!(
        matches!(&refused, Err(ConsensusError::Refused { reason }) if reason.contains("last voter")),
        "{refused:?}"
    );
    let view = cluster.node(leader).metrics();
    assert_eq!(view.voters, BTreeSet::from([leader]));
    cluster.node(leader).propose(create_topic("solo")).await?;
    cluster.shutdown().await;
    Ok(())
}

/// The leader removes itself: it hands leadership to a remaining voter and
/// steps down, and the two remaining voters carry on.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn removing_the_leader_moves_leadership_to_a_remaining_voter() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, 1_000).await?;
    let old = cluster.agreed_leader().await?;
    let remaining: BTreeSet<_> = (1..=3).map(id).filter(|&n| n != old).collect();

    tracing::info!(%old, "--- the leader removes itself");
    cluster.node(old).remove_node(old).await?;
    let survivor = cluster.follower(old);
    let m = cluster
        .node(survivor)
        .wait_until(WAIT, |m| {
            m.voters == remaining && m.leader.is_some_and(|l| remaining.contains(&l))
        })
        .await?;
    tracing::info!(new = ?m.leader, "--- a remaining voter leads");
    cluster
        .node(old)
        .wait_until(WAIT, |m| m.role != Role::Leader)
        .await?;

    tracing::info!("--- the removed node stops; the others commit on");
    cluster.stop(old).await;
    let new = cluster.agreed_leader().await?;
    assert!(remaining.contains(&new));
    cluster
        .node(cluster.follower(new))
        .propose(create_topic("after-removal"))
        .await?;
    cluster.shutdown().await;
    Ok(())
}

/// Node 1, the one that formed the group, loses its disk. Restarted pristine
/// it does not form a second group: it asks to rejoin and gets the group's
/// state back (from a snapshot, the log being purged) under its old id.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_node_that_lost_its_disk_rejoins_instead_of_forming_a_new_group() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, 5).await?;
    for i in 0..12 {
        cluster
            .node(id(1))
            .propose(create_topic(&format!("w-{i:03}")))
            .await?;
    }

    tracing::info!("--- node 1 stops and its disk is lost");
    cluster.stop(id(1)).await;
    cluster.wipe(id(1))?;
    let leader = cluster.agreed_leader().await?;
    let before = cluster
        .node(leader)
        .wait_until(WAIT, |m| m.purged_index.is_some())
        .await?;

    tracing::info!("--- restarted pristine, it rejoins the same group");
    let node = cluster.restart(id(1)).await?.clone();
    let m = node
        .wait_until(WAIT, |m| {
            m.applied_index >= before.commit_index && m.voters == ids([1, 2, 3])
        })
        .await?;
    assert!(m.term >= before.term, "{m:?} vs {before:?}");
    let all = node.read(|m| (0..12).all(|i| m.topic(&topic(&format!("w-{i:03}"))).is_some()));
    assert!(all.await?, "the group's state came back");
    let agreed = cluster
        .agreed_leader()
        .await
        .context("one group, one leader")?;
    assert_eq!(node.metrics().leader, Some(agreed));
    node.propose(create_topic("after-rejoin")).await?;
    cluster.shutdown().await;
    Ok(())
}

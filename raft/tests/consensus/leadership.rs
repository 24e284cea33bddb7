use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::harness::{Options, TestCluster, WAIT, create_topic, eventually, id, ids};

/// With elections only after 3 s of silence, leadership still moves within
/// a fraction of that: on request, and when the leader shuts down.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn leadership_moves_on_request_and_on_shutdown_without_an_election_timeout()
-> anyhow::Result<()> {
    let election_timeout = (Duration::from_secs(3), Duration::from_secs(6));
    let mut cluster = TestCluster::start_with(Options {
        election_timeout,
        ..Options::new(3)
    })
    .await?;
    let first = cluster.agreed_leader().await?;
    cluster.node(first).propose(create_topic("before")).await?;

    tracing::info!("--- on a follower, a transfer is a no-op");
    let follower = cluster.follower(first);
    assert_eq!(
        cluster.node(follower).transfer_leadership(WAIT).await?,
        None
    );

    tracing::info!(%first, "--- the leader hands leadership over on request");
    let asked = Instant::now();
    let second = cluster
        .node(first)
        .transfer_leadership(WAIT)
        .await?
        .context("leadership moved")?;
    let took = asked.elapsed();
    eprintln!("leadership transfer: {took:?} (node {first} -> node {second})");
    assert_ne!(second, first);
    assert!(took < election_timeout.0, "transfer took {took:?}");
    assert_eq!(cluster.agreed_leader().await?, second);

    tracing::info!(%second, "--- the leader shuts down: another leads at once");
    let stopped = Instant::now();
    cluster.stop(second).await;
    let survivor = cluster.running().next().context("two nodes run")?;
    survivor
        .wait_until(election_timeout.0, |m| {
            m.leader.is_some_and(|l| l != second)
        })
        .await?;
    let took = stopped.elapsed();
    eprintln!("leader shutdown to new leader: {took:?}");
    // No follower can time out and elect itself before 3 s of silence.
    assert!(took < election_timeout.0, "failover took {took:?}");
    let third = cluster.agreed_leader().await?;
    cluster
        .node(cluster.follower(third))
        .propose(create_topic("after"))
        .await?;
    cluster.shutdown().await;
    Ok(())
}

/// A single voter has no one to hand leadership to.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_single_voter_keeps_leadership() -> anyhow::Result<()> {
    let cluster = TestCluster::start(1, 1_000).await?;
    assert_eq!(cluster.node(id(1)).transfer_leadership(WAIT).await?, None);
    assert_eq!(cluster.node(id(1)).leader(), Some(id(1)));
    cluster.shutdown().await;
    Ok(())
}

/// The leader sees every voter answering; once a follower stops, its contact
/// age grows while the others' stay small.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn the_leader_sees_a_stopped_voter_go_quiet() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3, 1_000).await?;
    let leader = cluster.agreed_leader().await?;
    let gone = cluster.follower(leader);
    assert_eq!(
        cluster.node(gone).voter_contact(),
        None,
        "only the leader knows"
    );

    let fresh = Duration::from_secs(1);
    let contact = cluster
        .node(leader)
        .voter_contact()
        .context("the leader knows")?;
    assert_eq!(
        contact.keys().copied().collect::<BTreeSet<_>>(),
        ids([1, 2, 3])
    );
    assert_eq!(contact[&leader], Some(Duration::ZERO));
    eventually("every voter answering", || {
        cluster
            .node(leader)
            .voter_contact()
            .is_some_and(|c| c.values().all(|age| age.is_some_and(|a| a < fresh)))
    })
    .await?;

    tracing::info!(%gone, "--- a follower stops");
    cluster.stop(gone).await;
    let quiet = Duration::from_millis(1_500);
    eventually("the stopped voter going quiet", || {
        cluster.node(leader).voter_contact().is_some_and(|c| {
            c.iter().all(|(&id, age)| match age {
                Some(age) if id == gone => *age > quiet,
                Some(age) => *age < fresh,
                None => false,
            })
        })
    })
    .await?;
    cluster.shutdown().await;
    Ok(())
}

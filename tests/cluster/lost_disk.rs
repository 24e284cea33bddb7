//! A voter that lost its data dir rejoins (a learner first, then a voter),
//! gets the metadata back, and the group never has two leaders in one term.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster::NodeId;
use testkit::{Storage, TestCluster, wait_for};
use tokio_util::sync::CancellationToken;

use crate::support::{
    all_registered, assert_all_delivered, create_subscription, create_topic, publish_one,
};

/// One node's current term and the leader it knows.
type TermAndLeader = Box<dyn Fn() -> (u64, Option<NodeId>) + Send>;

/// Every (term, leader) any watched node reported, sampled until stopped.
#[derive(Default)]
struct LeaderHistory {
    watched: Mutex<Vec<TermAndLeader>>,
    seen: Mutex<BTreeMap<u64, BTreeSet<u64>>>,
}

impl LeaderHistory {
    /// Watches node `id` of `cluster` as it runs now.
    fn watch(&self, cluster: &TestCluster, id: u64) {
        let consensus = cluster.node(id).consensus.clone();
        let read: TermAndLeader = Box::new(move || {
            let m = consensus.metrics();
            (m.term, m.leader)
        });
        self.watched.lock().expect("not poisoned").push(read);
    }

    fn sample(&self) {
        let watched = self.watched.lock().expect("not poisoned");
        let mut seen = self.seen.lock().expect("not poisoned");
        for read in watched.iter() {
            if let (term, Some(leader)) = read() {
                seen.entry(term).or_default().insert(leader.get());
            }
        }
    }

    /// The terms in which nodes saw different leaders.
    fn split_terms(&self) -> BTreeMap<u64, BTreeSet<u64>> {
        let seen = self.seen.lock().expect("not poisoned");
        seen.iter()
            .filter(|(_, leaders)| leaders.len() > 1)
            .map(|(&term, leaders)| (term, leaders.clone()))
            .collect()
    }
}

fn names(cluster: &TestCluster, id: u64) -> (Vec<String>, Vec<String>) {
    cluster.node(id).consensus.read_local(|md| {
        (
            md.topics_after(None, usize::MAX)
                .iter()
                .map(|t| t.name.to_string())
                .collect(),
            md.subscriptions_after(None, usize::MAX)
                .iter()
                .map(|s| s.name.to_string())
                .collect(),
        )
    })
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_voter_that_lost_its_disk_rejoins_with_the_metadata_and_one_leader_per_term()
-> anyhow::Result<()> {
    tracing::info!("arrange: three voters on Redis with a topic and messages");
    let mut cluster = TestCluster::start(3, Storage::shared_redis()).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "disk", 12).await?;
    create_subscription(&cluster.client(1), "disk-sub", "disk").await?;
    let mut expected = BTreeSet::new();
    for i in 0..30 {
        let payload = format!("before-{i}");
        assert!(publish_one(&cluster.client(1), "disk", &payload).await?);
        expected.insert(payload);
    }
    let history = Arc::new(LeaderHistory::default());
    for id in 1..=3 {
        history.watch(&cluster, id);
    }
    let stop = CancellationToken::new();
    let sampler = tokio::spawn({
        let history = history.clone();
        let stop = stop.clone();
        async move {
            while !stop.is_cancelled() {
                history.sample();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });

    let membership_before = cluster.node(1).consensus.metrics().membership_index;

    tracing::info!("act: node 3 crashes, its data dir is lost, and it starts again");
    cluster.kill(3).await;
    cluster.wipe(3)?;
    cluster.restart(3).await?;
    history.watch(&cluster, 3);
    wait_for(
        "node 3 a voter again everywhere, registered and live",
        Duration::from_secs(60),
        || async {
            let voters = cluster.running().iter().all(|&id| {
                let m = cluster.node(id).consensus.metrics();
                m.voters.iter().map(|v| v.get()).eq([1, 2, 3]) && m.learners.is_empty()
            });
            (voters && crate::support::live_everywhere(&cluster, 3)).then_some(())
        },
    )
    .await?;

    tracing::info!(
        "assert: it was a learner in between, the metadata came back, it serves clients"
    );
    let membership_after = cluster.node(1).consensus.metrics().membership_index;
    assert!(
        membership_after > membership_before,
        "the membership never changed: node 3 was not made a learner ({membership_before:?})"
    );
    cluster.node(3).consensus.read(|_| ()).await?;
    assert_eq!(names(&cluster, 3), names(&cluster, 1));
    assert_eq!(
        names(&cluster, 3),
        (vec!["disk".to_owned()], vec!["disk-sub".to_owned()])
    );
    for i in 0..30 {
        let payload = format!("after-{i}");
        assert!(publish_one(&cluster.client(3), "disk", &payload).await?);
        expected.insert(payload);
    }
    assert_all_delivered(
        &cluster.client(2),
        "disk-sub",
        &expected,
        Duration::from_secs(60),
    )
    .await?;

    stop.cancel();
    sampler.await?;
    let split = history.split_terms();
    assert!(split.is_empty(), "two leaders in one term: {split:?}");
    assert!(
        cluster
            .node(3)
            .consensus
            .metrics()
            .voters
            .contains(&NodeId::new(3)),
        "node 3 votes again"
    );
    cluster.shutdown().await;
    Ok(())
}

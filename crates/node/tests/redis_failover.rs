//! An unplanned Redis Cluster failover: the primary of a partition is killed
//! with SIGKILL while a publisher appends to it. Redis replicates
//! asynchronously, so an append acknowledged at ack level `leader` just before
//! the crash may be missing on the promoted replica; the test measures and
//! reports how many, and checks that publishing resumes on the new primary
//! without restarting the broker.

mod redis_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cluster::TopicName;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{MessageLog, NewMessage, PartitionRef, StorageError};

const BATCH: u64 = 10;

fn batch(first: u64) -> Vec<NewMessage> {
    (first..first + BATCH)
        .map(|i| NewMessage {
            data: format!("m{i}").into_bytes().into(),
            attributes: Default::default(),
            ordering_key: None,
            priority: 4,
            publish_time_millis: 1_000 + i,
            deliver_at_millis: None,
            expire_at_millis: None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::print_stdout,
    reason = "the test reports the measured loss, as the issue asks"
)]
async fn killing_a_primary_mid_publish_loses_only_unreplicated_leader_acks_and_publishing_resumes()
{
    let mut cluster = redis_support::RedisCluster::start();
    let settings = RedisSettings {
        key_prefix: redis_support::fresh_prefix(),
        ..RedisSettings::cluster(cluster.seeds())
    };
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    let topic = TopicName::new("orders").expect("name");
    let at = PartitionRef {
        topic: topic.clone(),
        partition: 0,
    };
    storage.create_topic(&topic, 1).await.expect("topic");
    let slot = cluster.slot_of("{orders:0}");
    let give_up = Instant::now() + Duration::from_secs(30);
    let (primary, replica) = loop {
        if let (primary, Some(replica)) = cluster.primary_and_replica(slot) {
            break (primary, replica);
        }
        assert!(
            Instant::now() < give_up,
            "no replica attached to the primary"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // A replica that has not finished its first sync cannot be promoted.
    let replica_node = cluster
        .nodes
        .iter()
        .find(|n| n.port == replica)
        .expect("replica node");
    replica_node.wait_until(
        |info| info.contains("master_link_status:up"),
        "INFO replication",
    );

    tracing::info!(
        "act: append in batches; kill -9 the partition's primary after 50 acknowledged batches"
    );
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let (mut definite, mut unknown, mut after_kill) = (0, 0, 0);
    let mut killed = false;
    let mut acked_before_kill = BTreeSet::new();
    let mut next = 0;
    let give_up = Instant::now() + Duration::from_secs(60);
    while after_kill < 50 {
        assert!(
            Instant::now() < give_up,
            "publishing never resumed after the failover"
        );
        let messages = batch(next);
        next += BATCH;
        match storage.append(&at, 1, messages.clone()).await {
            Ok(offsets) => {
                assert_eq!(offsets.len() as u64, BATCH);
                acknowledged.extend(
                    messages
                        .iter()
                        .map(|m| String::from_utf8_lossy(&m.data).into_owned()),
                );
                if killed {
                    after_kill += 1;
                }
            }
            Err(StorageError::Unavailable { .. }) => definite += 1,
            Err(StorageError::OutcomeUnknown { .. }) => unknown += 1,
            Err(other) => panic!("unexpected error during failover: {other}"),
        }
        if !killed && acknowledged.len() as u64 >= 50 * BATCH {
            acked_before_kill = acknowledged.clone();
            let node = cluster
                .nodes
                .iter_mut()
                .find(|n| n.port == primary)
                .expect("primary node");
            node.kill();
            killed = true;
        }
    }
    let give_up = Instant::now() + Duration::from_secs(30);
    while cluster.primary_and_replica(slot).0 != replica {
        assert!(Instant::now() < give_up, "the replica was never promoted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    tracing::info!("assert: what the promoted replica holds");
    let fresh = RedisStorage::connect(&settings).await.expect("reconnect");
    let stored: BTreeSet<String> = fresh
        .read(&at, 0, 1_000_000)
        .await
        .expect("read")
        .iter()
        .map(|m| String::from_utf8_lossy(&m.message.data).into_owned())
        .collect();
    let lost = acknowledged.difference(&stored).count();
    println!(
        "unplanned failover: {} leader-level acks, {lost} lost, {definite} definite failures (503), {unknown} unknown outcomes (504) during the outage",
        acknowledged.len()
    );
    assert!(
        after_kill >= 50,
        "50 batches acknowledged by the new primary"
    );
    assert!(
        definite + unknown > 0,
        "the outage was seen by the publisher"
    );
    let missing: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(
        missing.iter().all(|m| acked_before_kill.contains(*m)),
        "only appends acknowledged by the old primary can be missing: {missing:?}"
    );
}

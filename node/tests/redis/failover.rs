//! An unplanned Redis Cluster failover: the primary of a partition is killed
//! with SIGKILL while a publisher appends to it. Redis replicates
//! asynchronously, so an append acknowledged at ack level `leader` just before
//! the crash may be missing on the promoted replica; the test measures and
//! reports how many, checks that no `replicated:1` ack (confirmed by the
//! replica that gets promoted) is lost, and that publishing resumes on the new
//! primary without restarting the broker.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use api::types::AckLevel;
use cluster::TopicName;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{AppendOptions, MessageLog, NewMessage, PartitionRef, StorageError};
use testkit::redis::RedisCluster;
use testkit::storage::message;

const BATCH: u64 = 10;

/// `BATCH` messages `<prefix><i>`: `l` for ack level leader, `r` for replicated:1.
fn batch(prefix: char, first: u64) -> Vec<NewMessage> {
    (first..first + BATCH)
        .map(|i| message(format!("{prefix}{i}"), 1_000 + i))
        .collect()
}

/// Settings for `cluster` under a fresh key prefix, and a storage on them.
async fn connect(cluster: &RedisCluster) -> (RedisSettings, RedisStorage) {
    let settings = RedisSettings {
        key_prefix: testkit::redis::fresh_prefix(),
        ..RedisSettings::cluster(cluster.seeds())
    };
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    (settings, storage)
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
#[expect(
    clippy::print_stdout,
    reason = "the test reports the measured loss, as the issue asks"
)]
async fn killing_a_primary_mid_publish_loses_only_unreplicated_leader_acks_and_publishing_resumes()
{
    let mut cluster = RedisCluster::start();
    let (settings, storage) = connect(&cluster).await;
    let topic = TopicName::new("orders").expect("name");
    let at = PartitionRef {
        topic: topic.clone(),
        partition: 0,
    };
    storage.create_topic(&topic, 1).await.expect("topic");
    let slot = cluster.slot_of("{orders:0}");
    let (primary, replica) = cluster.primary_with_synced_replica(slot);

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
        // Before the kill, even batches at ack level leader and odd ones at
        // replicated:1. After it the promoted replica has no replica of its
        // own, so replicated:1 could only time out (504): leader only.
        let replicated = !killed && (next / BATCH) % 2 == 1;
        let (prefix, ack_level) = if replicated {
            ('r', AckLevel::Replicated(1))
        } else {
            ('l', AckLevel::Leader)
        };
        let messages = batch(prefix, next);
        next += BATCH;
        let options = AppendOptions::plain(ack_level);
        match storage.append_with(&at, messages.clone(), &options).await {
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
    let missing: Vec<&String> = acknowledged.difference(&stored).collect();
    let count = |prefix: char, set: &mut dyn Iterator<Item = &String>| {
        set.filter(|d| d.starts_with(prefix)).count()
    };
    let leader_acked = count('l', &mut acknowledged.iter());
    let replicated_acked = count('r', &mut acknowledged.iter());
    let leader_lost = count('l', &mut missing.iter().copied());
    let replicated_lost = count('r', &mut missing.iter().copied());
    println!(
        "unplanned failover: leader acks {leader_acked}, lost {leader_lost}; replicated:1 acks {replicated_acked}, lost {replicated_lost}; {definite} definite failures (503), {unknown} unknown outcomes (504) during the outage"
    );
    assert_eq!(
        replicated_lost, 0,
        "a replicated:1 ack is on the replica that was promoted"
    );
    assert!(
        after_kill >= 50,
        "50 batches acknowledged by the new primary"
    );
    assert!(
        definite + unknown > 0,
        "the outage was seen by the publisher"
    );
    assert_eq!(
        definite, 0,
        "a failed write on a Redis Cluster is never definite: the client may have sent it twice"
    );
    assert!(
        missing.iter().all(|m| acked_before_kill.contains(*m)),
        "only appends acknowledged by the old primary can be missing: {missing:?}"
    );
}

/// After a failover, a slot whose first command is a transaction (creating a
/// topic is one `MULTI`): the cluster client does not follow `MOVED` inside a
/// transaction, so the storage relearns the slot and sends it again. Before,
/// such a slot stayed on the old node and every call failed with `EXECABORT`.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_transaction_after_a_failover_reaches_the_new_primary() {
    let cluster = RedisCluster::start();
    let (_, storage) = connect(&cluster).await;
    let slot = cluster.slot_of("{orders:0}");
    let (_, replica) = cluster.primary_with_synced_replica(slot);

    tracing::info!("act: a planned failover of the slot's primary, then a transaction first");
    cluster
        .nodes
        .iter()
        .find(|n| n.port == replica)
        .expect("replica node")
        .command("CLUSTER FAILOVER");
    let give_up = Instant::now() + Duration::from_secs(30);
    while cluster.primary_and_replica(slot).0 != replica {
        assert!(Instant::now() < give_up, "the replica was never promoted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let topic = TopicName::new("orders").expect("name");
    storage
        .create_topic(&topic, 1)
        .await
        .expect("the topic's MULTI reaches the new primary");

    tracing::info!("assert: the partition is there, on the new primary");
    let at = PartitionRef {
        topic,
        partition: 0,
    };
    let offsets = storage
        .append_with(&at, batch('n', 0), &AppendOptions::plain(AckLevel::Leader))
        .await
        .expect("append");
    assert_eq!(offsets.first(), Some(&0));
}

/// A write a Redis Cluster refuses (`OOM` here, which alone would mean that
/// nothing ran) fails with an unknown outcome: the cluster client sends a
/// command again after a lost reply and reports only the last attempt's
/// error, so the storage cannot tell this refusal from one that followed an
/// attempt that ran. Reads on the same cluster still succeed.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_write_a_redis_cluster_refuses_has_an_unknown_outcome() {
    let cluster = RedisCluster::start();
    let (_, storage) = connect(&cluster).await;
    let topic = TopicName::new("orders").expect("name");
    storage.create_topic(&topic, 1).await.expect("topic");
    let at = PartitionRef {
        topic,
        partition: 0,
    };
    let leader = AppendOptions::plain(AckLevel::Leader);
    storage
        .append_with(&at, batch('a', 0), &leader)
        .await
        .expect("append before");

    tracing::info!("act: the partition's primary is full (maxmemory 1 byte, noeviction)");
    let (primary, _) = cluster.primary_and_replica(cluster.slot_of("{orders:0}"));
    let node = cluster
        .nodes
        .iter()
        .find(|n| n.port == primary)
        .expect("primary node");
    node.command("CONFIG SET maxmemory-policy noeviction");
    node.command("CONFIG SET maxmemory 1");
    let refused = storage.append_with(&at, batch('b', BATCH), &leader).await;

    tracing::info!("assert: the refusal is an unknown outcome that names OOM; reads work");
    match refused {
        Err(StorageError::OutcomeUnknown { reason }) => {
            assert!(
                reason.contains("OOM"),
                "Redis's own error is kept: {reason}"
            );
        }
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
    let stored = storage
        .read(&at, 0, 100)
        .await
        .expect("a read is not refused");
    assert_eq!(stored.len() as u64, BATCH, "only the first batch is stored");
}

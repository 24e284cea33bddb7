//! Entry formats (docs/storage.md, "Entry formats"): a prefix written before
//! formats existed keeps format 1 and reads back; after the operator's
//! `SET <prefix>:format 2`, one partition holds both formats and reads,
//! leases, seeks and trims across them; a fresh prefix starts at format 2 on
//! standalone Redis and on a cluster; a format this version does not know
//! stops a node from starting.

use std::collections::BTreeMap;

use bytes::Bytes;
use cluster::subscription::StartPosition;
use cluster::{Retention, SubscriptionName, TopicName};
use node::storage::redis::{FORMAT_FIELDS, FORMAT_PACKED, RedisStorage, format_key};
use node::storage::{
    DeliveryPolicy, LeaseRequest, MessageLog, Millis, NewMessage, PartitionRef, SeekTarget,
    StorageError, SubscriptionState,
};
use redis::aio::MultiplexedConnection;
use testkit::redis::{shared_standalone, standalone_settings};
use testkit::storage::message;

const T0: u64 = 1_700_000_000_000;

fn orders() -> PartitionRef {
    PartitionRef {
        topic: TopicName::new("orders").expect("valid name"),
        partition: 0,
    }
}

/// Message `i` of the story: published at `T0 + i`; odd ones carry every
/// optional part.
fn nth(i: u64) -> NewMessage {
    let plain = message(format!("m{i}"), T0 + i);
    if i.is_multiple_of(2) {
        return plain;
    }
    NewMessage {
        attributes: BTreeMap::from([("region".to_owned(), format!("eu-{i}"))]),
        ordering_key: Some(format!("customer {i}")),
        priority: 9,
        deliver_at_millis: Millis::new(T0 + 1),
        expire_at_millis: Millis::new(T0 + 1_000_000_000),
        ..plain
    }
}

async fn raw(url: String) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("plain connection")
}

/// Writes messages `0..n` of partition 0 as a version from before formats
/// wrote them (format 1, no `<prefix>:format`): the fields of append.lua.
async fn write_format_1_fixture(raw: &mut MultiplexedConnection, prefix: &str, n: u64) {
    let base = format!("{prefix}:{{orders:0}}");
    let mut bytes = 0;
    let mut pipe = redis::pipe();
    for i in 0..n {
        let m = nth(i);
        let xadd = pipe
            .cmd("XADD")
            .arg(format!("{base}:log"))
            .arg(format!("0-{}", i + 1))
            .arg("b")
            .arg(bytes)
            .arg("t")
            .arg(m.publish_time_millis)
            .arg("p")
            .arg(m.priority)
            .arg("d")
            .arg(m.data.as_ref());
        if !m.attributes.is_empty() {
            let json = serde_json::to_string(&m.attributes).expect("json");
            xadd.arg("a").arg(json);
        }
        if let Some(key) = &m.ordering_key {
            xadd.arg("k").arg(key);
        }
        if let Some(at) = m.deliver_at_millis {
            xadd.arg("da").arg(at.get());
        }
        if let Some(at) = m.expire_at_millis {
            xadd.arg("ea").arg(at.get());
        }
        bytes += m.size();
    }
    pipe.cmd("HSET").arg(format!("{base}:meta")).arg(&[
        ("start", 0),
        ("end", n as usize),
        ("appended", bytes),
    ]);
    pipe.query_async::<()>(raw).await.expect("fixture");
}

/// The field names of each entry of partition 0, as Redis holds them.
async fn field_names(raw: &mut MultiplexedConnection, prefix: &str) -> Vec<Vec<String>> {
    let log: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("{prefix}:{{orders:0}}:log"))
        .arg("-")
        .arg("+")
        .query_async(raw)
        .await
        .expect("XRANGE");
    log.ids
        .iter()
        .map(|entry| {
            let mut names: Vec<String> = entry.map.keys().cloned().collect();
            names.sort();
            names
        })
        .collect()
}

fn lease_all() -> LeaseRequest {
    LeaseRequest {
        max_messages: 100,
        now_millis: T0 + 10,
        deadline_millis: T0 + 60_000,
        policy: DeliveryPolicy::default(),
    }
}

/// The messages `storage` leases to a new subscription after seeking to `target`.
async fn leased_after_seek(storage: &RedisStorage, name: &str, target: SeekTarget) -> Vec<u64> {
    let sub = SubscriptionName::new(name).expect("valid name");
    storage
        .create_subscription(&sub, &orders().topic, 1, StartPosition::Earliest)
        .await
        .expect("create subscription");
    storage.seek(&sub, &orders(), target).await.expect("seek");
    let leased = storage
        .lease(&sub, &orders(), lease_all())
        .await
        .expect("lease");
    let mut offsets: Vec<u64> = leased.leased.iter().map(|l| l.message.offset).collect();
    offsets.sort_unstable();
    for l in &leased.leased {
        assert_eq!(l.message.message, nth(l.message.offset), "leased message");
    }
    offsets
}

#[test_log::test(tokio::test)]
async fn a_format_1_prefix_reads_back_and_mixes_with_format_2_after_the_upgrade() {
    let settings = standalone_settings(shared_standalone().url());
    let prefix = settings.key_prefix.clone();
    let mut raw = raw(shared_standalone().url()).await;
    tracing::info!("arrange: a prefix written by a version from before formats");
    write_format_1_fixture(&mut raw, &prefix, 2).await;

    tracing::info!("a node starting on it keeps format 1 and records it");
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    assert_eq!(storage.entry_format(), FORMAT_FIELDS);
    let recorded: String = redis::cmd("GET")
        .arg(format_key(&prefix))
        .query_async(&mut raw)
        .await
        .expect("GET");
    assert_eq!(recorded, "1");
    let read = storage.read(&orders(), 0, 10).await.expect("read");
    let read: Vec<NewMessage> = read.iter().map(|m| m.message.clone()).collect();
    assert_eq!(
        read,
        vec![nth(0), nth(1)],
        "the old entries read back whole"
    );

    tracing::info!("appends still write format 1 (older nodes may still run)");
    storage
        .append(&orders(), vec![nth(2), nth(3)])
        .await
        .expect("append");
    let names = field_names(&mut raw, &prefix).await;
    assert!(
        names[2..4].iter().all(|n| n.contains(&"p".to_owned())),
        "{names:?}"
    );

    tracing::info!("act: the operator switches the prefix to format 2");
    redis::cmd("SET")
        .arg(format_key(&prefix))
        .arg(2)
        .query_async::<()>(&mut raw)
        .await
        .expect("SET");
    assert_eq!(storage.refresh_entry_format().await, FORMAT_PACKED);
    storage
        .append(&orders(), vec![nth(4), nth(5)])
        .await
        .expect("append");
    let names = field_names(&mut raw, &prefix).await;
    assert_eq!(names[4], vec!["b".to_owned(), "e".to_owned()], "format 2");
    assert_eq!(names[5], vec!["b".to_owned(), "e".to_owned()], "format 2");

    tracing::info!("assert: another node reads, leases and seeks across both formats");
    let other = RedisStorage::connect(&settings).await.expect("connect");
    assert_eq!(other.entry_format(), FORMAT_PACKED);
    let read = other.read(&orders(), 0, 10).await.expect("read");
    let read: Vec<NewMessage> = read.iter().map(|m| m.message.clone()).collect();
    assert_eq!(read, (0..6).map(nth).collect::<Vec<_>>());
    assert_eq!(
        leased_after_seek(&other, "all", SeekTarget::Earliest).await,
        vec![0, 1, 2, 3, 4, 5]
    );
    assert_eq!(
        leased_after_seek(&other, "from-3", SeekTarget::Time(T0 + 3)).await,
        vec![3, 4, 5],
        "seek finds a format-1 entry's time"
    );
    assert_eq!(
        leased_after_seek(&other, "from-5", SeekTarget::Time(T0 + 5)).await,
        vec![5],
        "seek finds a format-2 entry's time"
    );

    tracing::info!("retention by age and by size cuts across both formats");
    let by_age = Retention {
        max_age_millis: Some(1_000),
        ..Retention::default()
    };
    let dropped = other
        .trim(&orders(), &by_age, T0 + 1_005)
        .await
        .expect("trim");
    assert_eq!(dropped, 5, "published before T0 + 5: offsets 0..5");
    other
        .append(&orders(), vec![nth(6), nth(7)])
        .await
        .expect("append");
    let last_two = nth(6).size() + nth(7).size();
    let by_size = Retention {
        max_bytes_per_partition: Some(last_two as u64),
        ..Retention::default()
    };
    let dropped = other.trim(&orders(), &by_size, T0).await.expect("trim");
    assert_eq!(dropped, 1, "offset 5 goes; 6 and 7 fit");
    assert_eq!(other.offsets(&orders()).await.expect("offsets").start, 6);
}

#[test_log::test(tokio::test)]
async fn a_fresh_prefix_starts_at_format_2_on_standalone_and_cluster() {
    tracing::info!("standalone: a prefix no key lives under");
    let storage = testkit::redis::standalone_storage().await;
    assert_eq!(storage.entry_format(), FORMAT_PACKED);

    tracing::info!("cluster: other tests' keys elsewhere do not count");
    let storage = testkit::redis::cluster_storage().await;
    assert_eq!(storage.entry_format(), FORMAT_PACKED);
    storage
        .create_topic(&orders().topic, 1)
        .await
        .expect("create topic");
    storage
        .append(&orders(), vec![nth(0), nth(1)])
        .await
        .expect("append");
    let read = storage.read(&orders(), 0, 10).await.expect("read");
    let read: Vec<NewMessage> = read.iter().map(|m| m.message.clone()).collect();
    assert_eq!(read, vec![nth(0), nth(1)]);
}

#[test_log::test(tokio::test)]
async fn a_format_this_version_does_not_know_stops_a_node_from_starting() {
    let settings = standalone_settings(shared_standalone().url());
    let mut raw = raw(shared_standalone().url()).await;
    let running = RedisStorage::connect(&settings).await.expect("connect");
    assert_eq!(running.entry_format(), FORMAT_PACKED);

    tracing::info!("act: a newer version's format appears in the prefix");
    redis::cmd("SET")
        .arg(format_key(&settings.key_prefix))
        .arg(3)
        .query_async::<()>(&mut raw)
        .await
        .expect("SET");

    tracing::info!("assert: a new node refuses to start; a running one keeps its format");
    match RedisStorage::connect(&settings).await {
        Err(StorageError::Unavailable { reason }) => assert!(reason.contains("format"), "{reason}"),
        other => panic!("connected on an unknown format: {other:?}"),
    }
    assert_eq!(running.refresh_entry_format().await, FORMAT_PACKED);
    let data = Bytes::from_static(b"still written");
    running
        .create_topic(&orders().topic, 1)
        .await
        .expect("create topic");
    running
        .append(&orders(), vec![message(data.clone(), T0)])
        .await
        .expect("append");
}

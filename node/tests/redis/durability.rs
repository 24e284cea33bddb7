//! Redis storage across failures: a broker that crashes and restarts keeps
//! every message and every ack; a Redis that goes away makes publishes fail
//! honestly (503/504, never a false success) until it is back, with no broker
//! restart; a Redis Cluster failover (the partition's primary hands over to its
//! replica) goes unnoticed by publishers and consumers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::types::{PublishMessage, PublishRequest};
use node::broker::Broker;
use node::clock::Clock;
use node::storage::conformance::refs;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::telemetry::Metrics;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use testkit::redis::{RedisServer, broker_on, durable_standalone, standalone_settings};
use testkit::router::{App, b64};

const MESSAGES: usize = 1_000;

/// A broker on Redis with `clock`: what a (re)started node builds. Topics and
/// subscriptions are re-created as the metadata log would restore them; storage
/// keeps existing partitions and cursors.
async fn start_broker(settings: &RedisSettings, clock: Clock) -> Broker {
    let storage = RedisStorage::connect(settings).await.expect("connect");
    let broker = Broker::new(
        node::metadata_store::MetadataStore::local(),
        Arc::new(storage),
        Arc::new(Metrics::new()),
        clock,
        CancellationToken::new(),
        node::overload::Overload::unbounded(),
    );
    testkit::redis::orders_and_billing(&broker, 4, Some(api::types::StartPosition::Earliest)).await;
    broker
}

/// Pulls until nothing is deliverable; returns `(data, ack id, attempt)`.
async fn drain(broker: &Broker) -> Vec<(String, String, u32)> {
    let mut all = Vec::new();
    loop {
        let got = broker
            .delivery
            .pull("billing", 1000, Duration::ZERO)
            .await
            .expect("pull");
        if got.is_empty() {
            return all;
        }
        all.extend(got.into_iter().map(|m| {
            (
                String::from_utf8_lossy(&m.message.data.0).into_owned(),
                m.ack_id,
                m.delivery_attempt,
            )
        }));
    }
}

#[test_log::test(tokio::test)]
async fn a_restarted_broker_keeps_every_message_and_redelivers_only_unacked_leases() {
    let redis = RedisServer::standalone(&["--appendonly", "yes"]);
    let settings = standalone_settings(redis.url());
    let clock = Clock::new();

    tracing::info!("publish 1,000 messages over 4 partitions, lease 300, ack 200");
    let first = start_broker(&settings, clock).await;
    let published: BTreeSet<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(100) {
        let request = PublishRequest {
            messages: chunk
                .iter()
                .map(|i| PublishMessage {
                    data: api::data::Data(format!("m{i}").into_bytes().into()),
                    ordering_key: Some(format!("customer-{}", i % 17)),
                    ..Default::default()
                })
                .collect(),
        };
        let reply = first
            .publisher
            .publish("orders", request, None)
            .await
            .expect("publish");
        assert_eq!(reply.ack_level.to_string(), "leader");
    }
    let mut leased = Vec::new();
    while leased.len() < 300 {
        let want = (300 - leased.len()) as u32;
        leased.extend(
            first
                .delivery
                .pull("billing", want.min(100), Duration::ZERO)
                .await
                .expect("pull"),
        );
    }
    let (acked, unacked) = leased.split_at(200);
    let ack_ids: Vec<String> = acked.iter().map(|m| m.ack_id.clone()).collect();
    assert_eq!(
        first
            .delivery
            .acknowledge("billing", &ack_ids)
            .await
            .expect("acknowledge"),
        200
    );
    // An at-least-once lease stays in memory until the cursor's next write; a
    // deadline change (the same 10 s) is one, so these 100 are in Redis.
    let unacked_ids: Vec<String> = unacked.iter().map(|m| m.ack_id.clone()).collect();
    first
        .delivery
        .modify_ack_deadline("billing", &unacked_ids, 10)
        .await
        .expect("modifyAckDeadline");
    let data = |ms: &[api::types::ReceivedMessage]| -> BTreeSet<String> {
        ms.iter()
            .map(|m| String::from_utf8_lossy(&m.message.data.0).into_owned())
            .collect()
    };
    let (acked, unacked) = (data(acked), data(unacked));
    drop(first);

    tracing::info!("restart 1 s later, before the leases' 10 s deadline");
    let second = start_broker(&settings, clock.shifted(Duration::from_secs(1))).await;
    let topic = second.catalog.get_topic("orders").await.expect("get topic");
    assert_eq!(
        topic.stats.as_ref().map(|s| s.messages_published),
        Some(MESSAGES as u64),
        "every published message is still there"
    );
    let fresh = drain(&second).await;
    let fresh_data: BTreeSet<String> = fresh.iter().map(|(d, _, _)| d.clone()).collect();
    let never_leased: BTreeSet<String> = published
        .iter()
        .filter(|d| !acked.contains(*d) && !unacked.contains(*d))
        .cloned()
        .collect();
    assert_eq!(fresh.len(), 700, "each never-leased message once");
    assert_eq!(
        fresh_data, never_leased,
        "acked ones never come back; leased ones wait for their deadline"
    );
    assert!(fresh.iter().all(|(_, _, attempt)| *attempt == 1));
    let ids: Vec<String> = fresh.iter().map(|(_, id, _)| id.clone()).collect();
    for chunk in ids.chunks(500) {
        second
            .delivery
            .acknowledge("billing", chunk)
            .await
            .expect("ack");
    }
    drop(second);

    tracing::info!("restart again past the deadline: only the 100 unacked leases return");
    let third = start_broker(&settings, clock.shifted(Duration::from_secs(11))).await;
    let again = drain(&third).await;
    let again_data: BTreeSet<String> = again.iter().map(|(d, _, _)| d.clone()).collect();
    assert_eq!(again.len(), 100);
    assert_eq!(again_data, unacked);
    assert!(
        again.iter().all(|(_, _, attempt)| *attempt == 2),
        "a redelivery counts as attempt 2"
    );
    let ids: Vec<String> = again.iter().map(|(_, id, _)| id.clone()).collect();
    third
        .delivery
        .acknowledge("billing", &ids)
        .await
        .expect("ack");
    let sub = third
        .catalog
        .get_subscription("billing")
        .await
        .expect("get");
    assert_eq!(sub.stats.map(|s| s.backlog_messages), Some(0));
}

#[test_log::test(tokio::test)]
async fn publishing_while_redis_is_down_fails_honestly_and_recovers_without_a_broker_restart() {
    // Every write reaches the AOF before Redis answers, so its kill -9 below
    // loses nothing the broker was told had succeeded (with the default
    // `everysec`, the last second of writes, e.g. the subscription, may go).
    let (mut redis, settings) = durable_standalone();
    let app = App::over(broker_on(&settings).await);
    app.put_topic("orders", json!({})).await.ok();
    app.put_subscription(
        "billing",
        json!({"topic": "orders", "startPosition": "earliest"}),
    )
    .await
    .ok();
    let publish = |text: &str| {
        let messages = json!([{"data": b64(text)}]);
        let app = app.clone();
        async move { app.publish("orders", messages).await }
    };
    let before = publish("before").await;
    assert_eq!(before.ok()["ackLevel"], "leader");

    tracing::info!("Redis dies: publishes fail with 503 or 504, never a success");
    redis.kill();
    for attempt in 0..3 {
        let reply = publish(&format!("during {attempt}")).await;
        let status = reply.status.as_u16();
        match status {
            503 => {
                reply.problem(503, "UNAVAILABLE");
                assert!(
                    reply.headers.contains_key("retry-after"),
                    "503 carries Retry-After"
                );
            }
            504 => {
                reply.problem(504, "OUTCOME_UNKNOWN");
            }
            _ => panic!(
                "publish with Redis down answered {status}: {:?}",
                reply.body
            ),
        }
        assert_eq!(reply.body["retryable"], true);
    }
    app.get("/readyz").await.problem(503, "UNAVAILABLE");
    assert_eq!(
        app.get("/healthz").await.ok()["status"],
        "ok",
        "liveness needs no Redis"
    );

    tracing::info!("Redis comes back with its data: once ready, the same broker publishes again");
    redis.restart();
    // Readiness pings every Redis connection: each one broken by the restart
    // fails once there and reconnects, so traffic a load balancer lets in
    // after a passing check finds them all mended.
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = app.get("/readyz").await;
        if ready.status.is_success() {
            break;
        }
        assert!(
            Instant::now() < give_up,
            "readiness did not recover: {:?}",
            ready.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = publish("after").await;
    assert_eq!(after.ok()["ackLevel"], "leader");
    let pulled = app
        .verb("billing", "pull", json!({"maxMessages": 100}))
        .await;
    let data: Vec<String> = pulled.ok()["receivedMessages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["message"]["data"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        data.first(),
        Some(&b64("before")),
        "acked before the crash, kept"
    );
    assert_eq!(data.last(), Some(&b64("after")));
}

#[test_log::test(tokio::test)]
async fn a_redis_cluster_failover_keeps_publishing_and_delivery_going() {
    use node::storage::{LeaseRequest, MessageLog, NewMessage, PartitionRef, SubscriptionState};

    let cluster = testkit::redis::RedisCluster::start();
    let settings = RedisSettings {
        key_prefix: testkit::redis::fresh_prefix(),
        ..RedisSettings::cluster(cluster.seeds())
    };
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    let topic = cluster::TopicName::new("orders").expect("name");
    let sub = cluster::SubscriptionName::new("billing").expect("name");
    let at = PartitionRef {
        topic: topic.clone(),
        partition: 0,
    };
    let batch = |from: u64| -> Vec<NewMessage> {
        (from..from + 100)
            .map(|i| testkit::storage::message(format!("m{i}"), 1_000 + i))
            .collect()
    };
    let lease = |max: usize, now: u64| LeaseRequest {
        max_messages: max,
        now_millis: now,
        deadline_millis: now + 60_000,
        policy: Default::default(),
    };
    storage.create_topic(&topic, 1).await.expect("topic");
    storage
        .create_subscription(
            &sub,
            &topic,
            1,
            cluster::subscription::StartPosition::Earliest,
        )
        .await
        .expect("subscription");
    storage.append(&at, batch(0)).await.expect("append");
    let first = storage
        .lease(&sub, &at, lease(60, 10))
        .await
        .expect("lease");
    storage
        .ack(&sub, &at, &refs(&first.leased), 10, false)
        .await
        .expect("ack 60");

    tracing::info!("the replica of the partition's primary takes over (CLUSTER FAILOVER)");
    let slot = cluster.slot_of("{orders:0}");
    let (old_primary, replica) = cluster.primary_with_synced_replica(slot);
    let new_primary = cluster
        .nodes
        .iter()
        .find(|n| n.port == replica)
        .expect("replica node");
    assert!(new_primary.command("CLUSTER FAILOVER").starts_with("+OK"));
    new_primary.wait_until(|info| info.contains("role:master"), "INFO replication");
    for node in &cluster.nodes {
        node.wait_until(|info| info.contains("cluster_state:ok"), "CLUSTER INFO");
    }
    let give_up = Instant::now() + Duration::from_secs(30);
    while cluster.primary_and_replica(slot).0 != replica {
        assert!(
            Instant::now() < give_up,
            "the cluster never saw the slot move from {old_primary} to {replica}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    tracing::info!("the same storage keeps appending and delivering");
    let give_up = Instant::now() + Duration::from_secs(20);
    let offsets = loop {
        match storage.append(&at, batch(100)).await {
            Ok(offsets) => break offsets,
            Err(error) => {
                assert!(Instant::now() < give_up, "append after failover: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(offsets, (100..200).collect::<Vec<u64>>());
    let rest = storage
        .lease(&sub, &at, lease(1000, 20))
        .await
        .expect("lease after failover");
    let got: Vec<u64> = rest.leased.iter().map(|l| l.message.offset).collect();
    assert_eq!(
        got,
        (60..200).collect::<Vec<u64>>(),
        "nothing acked comes back, nothing published is missing"
    );
    storage
        .ack(&sub, &at, &refs(&rest.leased[..40]), 20, false)
        .await
        .expect("ack 40 after the failover");
    let fresh = RedisStorage::connect(&settings).await.expect("reconnect");
    let backlog = fresh.backlog(&sub, &at, 20).await.expect("backlog");
    assert_eq!(
        (backlog.unacked, backlog.outstanding),
        (100, 100),
        "the new primary has the cursor written before and after the failover \
         (the ack carried the leases made before it)"
    );
}

#[test_log::test(tokio::test)]
async fn an_idempotent_retry_stores_nothing_new_even_after_the_broker_forgot_the_key() {
    let redis = testkit::redis::shared_standalone();
    let settings = RedisSettings {
        key_prefix: testkit::redis::fresh_prefix(),
        ..standalone_settings(redis.url())
    };
    let request = || PublishRequest {
        messages: vec![
            PublishMessage {
                data: "pay 10".into(),
                ..Default::default()
            },
            PublishMessage {
                data: "pay 20".into(),
                ordering_key: Some("customer-7".into()),
                ..Default::default()
            },
        ],
    };

    tracing::info!("a publish with a key, then a new broker (its key cache is empty) retries it");
    let first = start_broker(&settings, Clock::new()).await;
    let original = first
        .publisher
        .publish("orders", request(), Some("payment-42"))
        .await
        .expect("publish");
    drop(first);
    let second = start_broker(&settings, Clock::new()).await;
    let retried = second
        .publisher
        .publish("orders", request(), Some("payment-42"))
        .await
        .expect("retry");

    tracing::info!("assert: the same partitions and offsets, and two messages stored, not four");
    assert_eq!(
        (retried.partitions.clone(), retried.offsets.clone()),
        (original.partitions.clone(), original.offsets.clone())
    );
    let stats = second
        .catalog
        .get_topic("orders")
        .await
        .expect("topic")
        .stats
        .expect("stats");
    assert_eq!(stats.messages_published, 2);
    let other = second
        .publisher
        .publish("orders", request(), Some("payment-43"))
        .await
        .expect("another key");
    assert_ne!(
        other.offsets, original.offsets,
        "a different key is a new publish"
    );
}

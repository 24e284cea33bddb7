//! What a topic asks of its storage: the ack level every publish must reach
//! (`leader`, `replicated:N` confirmed by `WAIT`, `fsynced` on a primary that
//! syncs its append-only file on every write) and the compression of stored
//! payloads. Each test runs its own `redis-server` processes.

use base64::Engine;
use node::storage::redis::RedisSettings;
use serde_json::json;

use testkit::redis::{RedisServer, broker_on, standalone_settings};
use testkit::router::{App, Reply, b64};

/// The real router over a broker on the Redis at `settings`.
async fn redis_app(settings: &RedisSettings) -> App {
    App::over(broker_on(settings).await)
}

async fn publish(app: &App, topic: &str, data: &str) -> Reply {
    app.publish(topic, json!([{"data": b64(data)}])).await
}

/// Pulls everything deliverable and returns the payloads as text.
async fn pull_all(app: &App, subscription: &str) -> Vec<String> {
    app.pull(subscription, json!({"maxMessages": 100}))
        .await
        .iter()
        .map(|m| {
            let data = m["message"]["data"].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64");
            String::from_utf8(bytes).expect("utf-8")
        })
        .collect()
}

/// The codec of a format-2 entry's `e` field: bits 4–5 of its flags byte, the
/// 15th (docs/storage.md, "Entry formats"): 0 none, 1 Snappy, 2 LZ4.
fn codec_of(packed: &[u8]) -> u8 {
    (packed[14] >> 4) & 0b11
}

/// Every entry of partition 0 of `topic` as Redis holds it (`XRANGE`).
async fn stored_log(
    raw: &mut redis::aio::MultiplexedConnection,
    key_prefix: &str,
    topic: &str,
) -> redis::streams::StreamRangeReply {
    redis::cmd("XRANGE")
        .arg(format!("{key_prefix}:{{{topic}:0}}:log"))
        .arg("-")
        .arg("+")
        .query_async(raw)
        .await
        .expect("XRANGE")
}

#[test_log::test(tokio::test)]
async fn replicated_publishes_wait_for_the_replica_and_without_it_the_outcome_is_unknown() {
    tracing::info!("a primary with one replica");
    let primary = RedisServer::standalone(&["--appendonly", "no"]);
    let mut replica = RedisServer::standalone(&[
        "--appendonly",
        "no",
        "--replicaof",
        "127.0.0.1",
        &primary.port.to_string(),
    ]);
    replica.wait_until(
        |info| info.contains("master_link_status:up"),
        "INFO replication",
    );
    primary.wait_until(
        |info| info.contains("connected_slaves:1"),
        "INFO replication",
    );
    let app = redis_app(&standalone_settings(primary.url())).await;
    app.put_topic("orders", json!({"ackLevel": "replicated:1"}))
        .await
        .ok();
    app.put_subscription(
        "billing",
        json!({"topic": "orders", "startPosition": "earliest"}),
    )
    .await
    .ok();
    assert_eq!(
        app.get("/v1/topics/orders").await.ok()["ackLevel"],
        "replicated:1"
    );

    tracing::info!("with the replica up, publishes are confirmed at replicated:1");
    let confirmed = publish(&app, "orders", "confirmed").await;
    assert_eq!(confirmed.ok()["ackLevel"], "replicated:1");

    tracing::info!("the replica dies: the publish is stored but unconfirmed, 504");
    replica.kill();
    let unconfirmed = publish(&app, "orders", "unconfirmed").await;
    let detail = unconfirmed.problem(504, "OUTCOME_UNKNOWN");
    assert!(detail.contains("replicas"), "{detail}");
    assert_eq!(unconfirmed.body["retryable"], true);

    tracing::info!("the unconfirmed message is on the primary");
    assert_eq!(
        pull_all(&app, "billing").await,
        vec!["confirmed".to_owned(), "unconfirmed".to_owned()]
    );
}

#[test_log::test(tokio::test)]
async fn fsynced_needs_appendfsync_always_on_the_primary() {
    tracing::info!("a primary that syncs its append-only file once a second");
    let redis = RedisServer::standalone(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let app = redis_app(&standalone_settings(redis.url())).await;
    let fsynced = json!({"ackLevel": "fsynced"});
    let refused = app.put_topic("audit", fsynced.clone()).await;
    let detail = refused.problem(400, "INVALID_ARGUMENT");
    assert!(
        detail.contains("appendfsync always") && detail.contains("everysec"),
        "{detail}"
    );
    app.get("/v1/topics/audit")
        .await
        .problem(404, "TOPIC_NOT_FOUND");

    tracing::info!("the operator turns on appendfsync always: the topic is accepted");
    redis.command("CONFIG SET appendfsync always");
    app.put_topic("audit", fsynced).await.ok();
    assert_eq!(
        app.get("/v1/topics/audit").await.ok()["ackLevel"],
        "fsynced"
    );
    assert_eq!(
        publish(&app, "audit", "kept").await.ok()["ackLevel"],
        "fsynced"
    );
}

#[test_log::test(tokio::test)]
async fn redis_defaults_to_leader_and_memory_storage_allows_only_memory() {
    tracing::info!("Redis: a topic without ackLevel acknowledges at leader");
    let redis = RedisServer::standalone(&["--appendonly", "no"]);
    let app = redis_app(&standalone_settings(redis.url())).await;
    app.put_topic("plain", json!({})).await.ok();
    assert_eq!(app.get("/v1/topics/plain").await.ok()["ackLevel"], "leader");
    assert_eq!(publish(&app, "plain", "x").await.ok()["ackLevel"], "leader");
    app.put_topic("volatile", json!({"ackLevel": "memory"}))
        .await
        .problem(400, "INVALID_ARGUMENT");

    tracing::info!("memory storage: memory is the only level");
    let memory = App::memory();
    memory.put_topic("plain", json!({})).await.ok();
    assert_eq!(
        memory.get("/v1/topics/plain").await.ok()["ackLevel"],
        "memory"
    );
    for level in ["leader", "replicated:1", "fsynced"] {
        let detail = memory
            .put_topic("strict", json!({"ackLevel": level}))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert!(detail.contains("memory storage"), "{level}: {detail}");
    }
    memory
        .put_topic("strict", json!({"ackLevel": "replicated:0"}))
        .await
        .problem(400, "INVALID_ARGUMENT");
}

#[test_log::test(tokio::test)]
async fn large_payloads_are_stored_compressed_and_pulled_back_whole() {
    let redis = RedisServer::standalone(&["--appendonly", "no"]);
    let settings = standalone_settings(redis.url());
    let app = redis_app(&settings).await;
    let raw = redis::Client::open(redis.url()).expect("client");
    let mut raw = raw
        .get_multiplexed_async_connection()
        .await
        .expect("plain connection");
    let large = "order 42 shipped to Lisbon; ".repeat(200);
    let small = "tiny";
    for codec in ["snappy", "lz4"] {
        tracing::info!(codec, "a topic storing payloads compressed");
        let topic = format!("orders-{codec}");
        let sub = format!("billing-{codec}");
        app.put_topic(&topic, json!({"compression": codec}))
            .await
            .ok();
        assert_eq!(
            app.get(&format!("/v1/topics/{topic}")).await.ok()["compression"],
            codec
        );
        app.put_subscription(&sub, json!({"topic": topic, "startPosition": "earliest"}))
            .await
            .ok();
        publish(&app, &topic, &large).await.ok();
        publish(&app, &topic, small).await.ok();

        tracing::info!(
            codec,
            "Redis holds the large payload compressed, the small one as is"
        );
        let entries = stored_log(&mut raw, &settings.key_prefix, &topic).await;
        assert_eq!(entries.ids.len(), 2);
        let packed = |i: usize| -> Vec<u8> { entries.ids[i].get("e").expect("format-2 field e") };
        let code = if codec == "snappy" { 1 } else { 2 };
        let stored = packed(0);
        assert_eq!(codec_of(&stored), code);
        assert!(
            stored.len() * 4 < large.len(),
            "{codec}: {} stored bytes for {}",
            stored.len(),
            large.len()
        );
        assert_eq!(codec_of(&packed(1)), 0);
        assert!(packed(1).ends_with(small.as_bytes()));

        tracing::info!(codec, "pull returns the original bytes");
        assert_eq!(
            pull_all(&app, &sub).await,
            vec![large.clone(), small.to_owned()]
        );
    }

    tracing::info!("a topic without compression stores the payload as is");
    app.put_topic("plain", json!({})).await.ok();
    assert_eq!(
        app.get("/v1/topics/plain").await.ok()["compression"],
        "none"
    );
    publish(&app, "plain", &large).await.ok();
    let entries = stored_log(&mut raw, &settings.key_prefix, "plain").await;
    let stored: Vec<u8> = entries.ids[0].get("e").expect("format-2 field e");
    assert_eq!(codec_of(&stored), 0);
    assert!(stored.ends_with(large.as_bytes()));
}

#[test_log::test(tokio::test)]
async fn on_a_redis_cluster_each_partition_waits_on_its_own_primary() {
    use node::storage::{AppendOptions, MessageLog, PartitionRef, StorageError};

    tracing::info!("a 3-primary/3-replica cluster; partitions spread over the slots");
    let storage = testkit::redis::cluster_storage().await;
    // Replicas attach after the cluster reports ok; WAIT needs them online.
    for node in &testkit::redis::shared_cluster().nodes {
        if node.command("INFO replication").contains("role:master") {
            node.wait_until(
                |info| info.contains("connected_slaves:1") && info.contains("state=online"),
                "INFO replication",
            );
        }
    }
    let topic = cluster::TopicName::new("orders").expect("name");
    let replicated = AppendOptions {
        compression: cluster::Compression::Lz4,
        ..AppendOptions::plain(api::types::AckLevel::Replicated(1))
    };
    storage
        .check_options(&topic, 8, &replicated)
        .await
        .expect("replicated:1 is reachable");
    storage.create_topic(&topic, 8).await.expect("create");

    tracing::info!("every partition's append is confirmed by that primary's replica");
    for partition in 0..8 {
        let at = PartitionRef {
            topic: topic.clone(),
            partition,
        };
        let message = testkit::storage::message("x".repeat(2048), 1);
        let offsets = storage
            .append_with(&at, vec![message.clone()], &replicated)
            .await
            .expect("replicated append");
        assert_eq!(offsets, vec![0]);
        let read = storage.read(&at, 0, 10).await.expect("read");
        assert_eq!(read[0].message, message);
    }

    tracing::info!("the cluster runs without appendfsync always: fsynced is refused");
    let fsynced = AppendOptions::plain(api::types::AckLevel::Fsynced);
    match storage.check_options(&topic, 8, &fsynced).await {
        Err(StorageError::Unsupported { reason }) => {
            assert!(reason.contains("appendfsync always"), "{reason}");
        }
        other => panic!("fsynced on the test cluster: {other:?}"),
    }

    tracing::info!("one primary syncs every write: only a partition it serves may be fsynced");
    let redis = testkit::redis::shared_cluster();
    let (syncing, _) = redis.primary_and_replica(redis.slot_of("{audit0:0}"));
    let node = redis
        .nodes
        .iter()
        .find(|n| n.port == syncing)
        .expect("the primary is one of ours");
    node.command("CONFIG SET appendonly yes");
    node.command("CONFIG SET appendfsync always");
    // Three topics on each side, so a check sent to a random node would fail.
    let on_primary = |name: &String| {
        redis
            .primary_and_replica(redis.slot_of(&format!("{{{name}:0}}")))
            .0
            == syncing
    };
    let names: Vec<String> = (0..2000).map(|i| format!("audit{i}")).collect();
    let syncing_topics: Vec<&String> = names.iter().filter(|n| on_primary(n)).take(3).collect();
    let other_topics: Vec<&String> = names.iter().filter(|n| !on_primary(n)).take(3).collect();
    assert_eq!((syncing_topics.len(), other_topics.len()), (3, 3));
    for name in syncing_topics {
        let topic = cluster::TopicName::new(name.clone()).expect("name");
        storage
            .check_options(&topic, 1, &fsynced)
            .await
            .unwrap_or_else(|e| panic!("{name} is served by the syncing primary: {e}"));
    }
    for name in other_topics {
        let topic = cluster::TopicName::new(name.clone()).expect("name");
        assert!(
            matches!(
                storage.check_options(&topic, 1, &fsynced).await,
                Err(StorageError::Unsupported { .. })
            ),
            "{name} is served by a primary without appendfsync always"
        );
    }
    node.command("CONFIG SET appendonly no");
}

//! Delivery over HTTP: competing pullers, ordering keys, ack deadlines, nacks,
//! long polling, and the metrics that record it.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::types::{
    CreateSubscriptionRequest, CreateTopicRequest, PublishMessage, PublishRequest, PullRequest,
};
use api::{Client, PublishOptions};
use http::Method;
use node::TestNode;
use serde_json::json;
use support::{app, b64, json, topic_with_subscription};

/// What the two pullers saw.
#[derive(Default)]
struct Seen {
    /// Message ids leased right now, to catch a message held by both pullers.
    leased: HashSet<String>,
    /// Per ordering key, the sequence numbers in the order they were received.
    per_key: BTreeMap<String, Vec<u32>>,
    total: usize,
}

#[tokio::test]
async fn competing_pullers_get_every_message_once_in_key_order() {
    let node = TestNode::start().await.expect("server starts");
    let client = Client::new(&node.url, Duration::from_secs(30)).expect("client");

    tracing::info!(
        "arrange: 4 partitions, an ordered subscription, 1,000 messages over 10 keys in batches"
    );
    let topic = CreateTopicRequest {
        partitions: Some(4),
        ..Default::default()
    };
    client
        .create_topic("orders", &topic)
        .await
        .expect("create topic");
    let sub = CreateSubscriptionRequest {
        topic: "orders".into(),
        ack_deadline_seconds: Some(60),
        enable_message_ordering: Some(true),
        ..Default::default()
    };
    client
        .create_subscription("workers", &sub)
        .await
        .expect("create subscription");
    let mut next_seq: BTreeMap<String, u32> = BTreeMap::new();
    for batch in 0..10 {
        let messages = (0..100)
            .map(|i| {
                let key = format!("key-{}", (batch * 100 + i) % 10);
                let seq = next_seq.entry(key.clone()).or_default();
                *seq += 1;
                PublishMessage {
                    data: format!("{key}:{seq}").as_str().into(),
                    ordering_key: Some(key),
                    ..Default::default()
                }
            })
            .collect();
        client
            .publish(
                "orders",
                &PublishRequest { messages },
                &PublishOptions::default(),
            )
            .await
            .expect("publish");
    }

    tracing::info!("act: two pullers pull, record and ack until all 1,000 are acked");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let pullers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(pull_until_done(client.clone(), seen.clone(), 1000)))
        .collect();
    for puller in pullers {
        puller.await.expect("puller finished");
    }

    tracing::info!("assert: all delivered once, each key in publish order");
    {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.total, 1000, "every message delivered exactly once");
        for (key, seqs) in &seen.per_key {
            let expected: Vec<u32> = (1..=100).collect();
            assert_eq!(seqs, &expected, "order of {key}");
        }
    }
    let stats = client
        .get_subscription("workers")
        .await
        .expect("stats")
        .stats
        .expect("stats present");
    assert_eq!((stats.backlog_messages, stats.outstanding_messages), (0, 0));

    tracing::info!("act: one bad ack, so an error is counted");
    let bad = client.acknowledge("workers", vec!["bogus".into()]).await;
    assert_eq!(
        bad.expect_err("bad ack id").problem().map(|p| p.code),
        Some(api::ErrorCode::InvalidAckId)
    );

    tracing::info!("assert: the metrics match what happened");
    let metrics = reqwest::get(format!("{}/metrics", node.metrics_url))
        .await
        .expect("metrics reachable")
        .text()
        .await
        .expect("metrics text");
    for expected in [
        "pubsubgo_messages_published_total 1000",
        "pubsubgo_messages_consumed_total 1000",
        "pubsubgo_message_latency_seconds_count 1000",
        "pubsubgo_topic_messages_total{topic=\"orders\"} 1000",
        "pubsubgo_messages_redelivered_total 0",
        "pubsubgo_errors_total{code=\"INVALID_ACK_ID\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == expected),
            "missing {expected:?} in\n{metrics}"
        );
    }
    let open_http: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pubsubgo_active_connections_total{transport=\"http\"} "))
        .and_then(|v| v.parse().ok())
        .expect("http connection gauge");
    assert!(
        open_http >= 1,
        "the pullers' pooled connections are still open"
    );
    node.stop().await;
}

async fn pull_until_done(client: Client, seen: Arc<Mutex<Seen>>, expected: usize) {
    loop {
        if seen.lock().expect("lock").total >= expected {
            return;
        }
        let request = PullRequest {
            max_messages: Some(50),
            wait_seconds: Some(1),
            ..Default::default()
        };
        let pulled = client.pull("workers", &request).await.expect("pull");
        let mut ack_ids = Vec::new();
        {
            let mut seen = seen.lock().expect("lock");
            for received in pulled.received_messages {
                let id = received.message.message_id.clone();
                assert!(
                    seen.leased.insert(id.clone()),
                    "{id} leased to both pullers"
                );
                let text = String::from_utf8(received.message.data.0.to_vec()).expect("utf-8");
                let (key, seq) = text.split_once(':').expect("key:seq");
                seen.per_key
                    .entry(key.to_owned())
                    .or_default()
                    .push(seq.parse().expect("number"));
                seen.total += 1;
                ack_ids.push((id, received.ack_id));
            }
        }
        if ack_ids.is_empty() {
            continue;
        }
        // Forget the lease before acking: once acked, the key's next message may
        // go to the other puller at once.
        let ids: Vec<String> = {
            let mut seen = seen.lock().expect("lock");
            ack_ids
                .into_iter()
                .map(|(id, ack)| {
                    seen.leased.remove(&id);
                    ack
                })
                .collect()
        };
        client.acknowledge("workers", ids).await.expect("ack");
    }
}

#[tokio::test(start_paused = true)]
async fn unacked_returns_after_deadline_nacked_at_once_acked_never() {
    let (app, _) = app();
    topic_with_subscription(&app, "jobs", "runner", json!({"ackDeadlineSeconds": 10})).await;
    let batch = json!({"messages": [{"data": b64("acked")}, {"data": b64("nacked")}, {"data": b64("ignored")}]});
    json(&app, Method::POST, "/v1/topics/jobs:publish", batch)
        .await
        .ok();

    let first = pull(&app, "runner").await;
    assert_eq!(first.len(), 3);
    assert!(first.values().all(|(_, attempt)| *attempt == 1));
    let ack = |name: &str| first[&b64(name)].0.clone();
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/runner:acknowledge",
        json!({"ackIds": [ack("acked")]}),
    )
    .await
    .ok();
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/runner:nack",
        json!({"ackIds": [ack("nacked")]}),
    )
    .await
    .ok();

    tracing::info!("the nacked message comes back at once, the others stay leased");
    let second = pull(&app, "runner").await;
    assert_eq!(
        second.keys().cloned().collect::<Vec<_>>(),
        vec![b64("nacked")]
    );
    assert_eq!(second[&b64("nacked")].1, 2);

    tracing::info!("just before the deadline nothing is due");
    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert!(pull(&app, "runner").await.is_empty());

    tracing::info!(
        "at the deadline both unacked leases expire: attempt 2 and, for the nacked one, 3"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    let third = pull(&app, "runner").await;
    assert_eq!(third.len(), 2);
    assert_eq!(third[&b64("ignored")].1, 2);
    assert_eq!(third[&b64("nacked")].1, 3);

    tracing::info!("much later, the acked message has never come back");
    tokio::time::advance(Duration::from_secs(600)).await;
    let later = pull(&app, "runner").await;
    assert!(!later.contains_key(&b64("acked")));
    assert_eq!(later.len(), 2, "the other two keep coming back until acked");
}

#[tokio::test(start_paused = true)]
async fn modify_ack_deadline_extends_a_lease_and_zero_nacks() {
    let (app, _) = app();
    topic_with_subscription(&app, "long-jobs", "slow", json!({"ackDeadlineSeconds": 10})).await;
    let batch = json!({"messages": [{"data": b64("extended")}, {"data": b64("released")}]});
    json(&app, Method::POST, "/v1/topics/long-jobs:publish", batch)
        .await
        .ok();
    let first = pull(&app, "slow").await;
    let extend = json!({"ackIds": [first[&b64("extended")].0], "ackDeadlineSeconds": 60});
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/slow:modifyAckDeadline",
        extend,
    )
    .await
    .ok();
    let release = json!({"ackIds": [first[&b64("released")].0], "ackDeadlineSeconds": 0});
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/slow:modifyAckDeadline",
        release,
    )
    .await
    .ok();
    assert_eq!(
        pull(&app, "slow").await.keys().cloned().collect::<Vec<_>>(),
        vec![b64("released")]
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    let after = pull(&app, "slow").await;
    assert!(
        !after.contains_key(&b64("extended")),
        "still within its 60 s extension"
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert!(pull(&app, "slow").await.contains_key(&b64("extended")));
}

#[tokio::test(start_paused = true)]
async fn long_poll_returns_as_soon_as_a_message_is_published() {
    let (app, _) = app();
    topic_with_subscription(&app, "events", "tail", json!({})).await;
    let start = tokio::time::Instant::now();
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move {
            json(
                &app,
                Method::POST,
                "/v1/subscriptions/tail:pull",
                json!({"waitSeconds": 30}),
            )
            .await
        })
    };
    // Let the pull reach its wait; time cannot advance while this task is runnable.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    json(
        &app,
        Method::POST,
        "/v1/topics/events:publish",
        json!({"messages": [{"data": b64("wake")}]}),
    )
    .await
    .ok();
    let reply = waiting.await.expect("pull task");
    assert_eq!(
        reply.ok()["receivedMessages"][0]["message"]["data"],
        b64("wake")
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "woken by the publish, not by the 30 s timeout"
    );

    tracing::info!("with nothing published, a pull waits its full time and returns empty");
    let start = tokio::time::Instant::now();
    let empty = json(
        &app,
        Method::POST,
        "/v1/subscriptions/tail:pull",
        json!({"waitSeconds": 5}),
    )
    .await;
    assert_eq!(empty.ok()["receivedMessages"], json!([]));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

/// Pulls everything deliverable now: data (base64) → (ack id, attempt).
async fn pull(app: &axum::Router, sub: &str) -> BTreeMap<String, (String, u64)> {
    let reply = json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{sub}:pull"),
        json!({"maxMessages": 100}),
    )
    .await;
    reply.ok()["receivedMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["message"]["data"].as_str().unwrap_or_default().to_owned(),
                (
                    m["ackId"].as_str().unwrap_or_default().to_owned(),
                    m["deliveryAttempt"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

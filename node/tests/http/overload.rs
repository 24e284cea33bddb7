//! Overload answers over HTTP: a full partition of a topic that refuses new
//! messages, and the memory alarm, both `429 RESOURCE_EXHAUSTED` with
//! `Retry-After`; consumers drain while the alarm is raised.

use std::sync::Arc;

use api::types::{PublishMessage, PublishRequest};
use node::broker::Broker;
use node::clock::Clock;
use node::metadata_store::MetadataStore;
use node::overload::{MemoryBudget, MemoryLimits, Overload};
use node::storage::memory::MemoryStorage;
use node::telemetry::Metrics;
use serde_json::{Value, json};
use testkit::router::{App, b64};
use tokio_util::sync::CancellationToken;

fn refused_count(app: &App, reason: &str) -> String {
    let prefix = format!("pubsubgo_publishes_refused_total{{reason=\"{reason}\"}} ");
    app.broker()
        .metrics
        .encode()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_default()
}

#[test_log::test(tokio::test)]
async fn a_full_partition_of_a_topic_that_discards_new_answers_429_until_there_is_room() {
    let app = App::memory();
    let capped = json!({
        "partitions": 1,
        "retention": { "maxMessagesPerPartition": 2, "discard": "new" }
    });
    let created = app.put_topic("capped", capped).await;
    assert_eq!(created.ok()["retention"]["discard"], "new");
    assert_eq!(created.ok()["retention"]["maxMessagesPerPartition"], 2);

    tracing::info!("act: two messages fit, the third does not");
    app.publish(
        "capped",
        json!([{ "data": b64("a") }, { "data": b64("b") }]),
    )
    .await
    .ok();
    let refused = app.publish("capped", json!([{ "data": b64("c") }])).await;

    tracing::info!("assert: 429 with Retry-After, nothing stored, counted");
    let detail = refused.problem(429, "RESOURCE_EXHAUSTED");
    assert!(detail.contains("2 messages"), "{detail}");
    assert!(refused.headers.contains_key("retry-after"));
    let topic = app.get("/v1/topics/capped").await;
    assert_eq!(topic.ok()["stats"]["partitions"][0]["endOffset"], 2);
    assert_eq!(refused_count(&app, "partition_full"), "1");
}

/// A broker on memory storage whose accounted memory is bounded to 64 KiB.
fn bounded_app() -> App {
    let metrics = Arc::new(Metrics::new());
    let memory = MemoryBudget::new(
        MemoryLimits {
            limit_bytes: 64 * 1024,
            high_bytes: 56 * 1024,
            low_bytes: 48 * 1024,
        },
        &metrics.overload,
    );
    let broker = Broker::new(
        MetadataStore::local(),
        Arc::new(MemoryStorage::within(memory.clone())),
        metrics,
        Clock::new(),
        CancellationToken::new(),
        Overload {
            memory,
            ..Overload::unbounded()
        },
    );
    App::over(broker)
}

fn kilobyte(i: usize) -> Value {
    json!({ "data": b64(&format!("{i:04}{}", "x".repeat(1020))) })
}

#[test_log::test(tokio::test)]
async fn the_memory_alarm_refuses_publishes_while_consumers_drain_the_backlog() {
    let app = bounded_app();
    app.topic_with_subscription("events", "reader", json!({ "startPosition": "earliest" }))
        .await;

    tracing::info!("act: publish 1 KiB messages until refused");
    let mut stored = 0;
    let refused = loop {
        let reply = app.publish("events", json!([kilobyte(stored)])).await;
        if !reply.status.is_success() {
            break reply;
        }
        stored += 1;
        assert!(stored < 64, "the alarm rose before 64 KiB were stored");
    };
    let detail = refused.problem(429, "RESOURCE_EXHAUSTED");
    assert!(detail.contains("memory alarm"), "{detail}");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(refused_count(&app, "memory_alarm"), "1");

    tracing::info!("assert: pipelined publishes (the publish stream's path) are refused alike");
    let request = PublishRequest {
        messages: vec![PublishMessage {
            data: "p".into(),
            ..PublishMessage::default()
        }],
    };
    let answers = app
        .broker()
        .publisher
        .publish_pipelined("events", vec![request.clone(), request])
        .await;
    assert!(answers.iter().all(|a| {
        a.as_ref()
            .is_err_and(|e| e.code() == api::ErrorCode::ResourceExhausted)
    }));

    tracing::info!("act: pull and ack everything while the alarm is raised");
    let mut received = 0;
    loop {
        let pulled = app
            .pull("reader", json!({ "maxMessages": 100, "waitSeconds": 0 }))
            .await;
        if pulled.is_empty() {
            break;
        }
        received += pulled.len();
        let ids: Vec<&str> = pulled.iter().filter_map(|m| m["ackId"].as_str()).collect();
        app.ack("reader", &ids).await;
    }

    tracing::info!("assert: everything stored was delivered; publishes are accepted again");
    assert_eq!(received, stored);
    app.publish("events", json!([kilobyte(stored)])).await.ok();
    assert!(
        app.broker()
            .metrics
            .encode()
            .contains("pubsubgo_memory_alarm 0")
    );
}

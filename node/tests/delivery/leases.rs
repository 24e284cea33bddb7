//! Leases over HTTP with paused time: unacked messages return after their
//! deadline, nacked ones at once, acked ones never; deadlines extended or cut
//! to zero; long polls woken by a publish.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use testkit::router::{App, b64};

#[test_log::test(tokio::test(start_paused = true))]
async fn unacked_returns_after_deadline_nacked_at_once_acked_never() {
    let app = App::memory();
    app.topic_with_subscription("jobs", "runner", json!({"ackDeadlineSeconds": 10}))
        .await;
    let batch = json!([{"data": b64("acked")}, {"data": b64("nacked")}, {"data": b64("ignored")}]);
    app.publish("jobs", batch).await.ok();

    let first = pull(&app, "runner").await;
    assert_eq!(first.len(), 3);
    assert!(first.values().all(|(_, attempt)| *attempt == 1));
    let ack = |name: &str| first[&b64(name)].0.clone();
    app.verb("runner", "acknowledge", json!({"ackIds": [ack("acked")]}))
        .await
        .ok();
    app.verb("runner", "nack", json!({"ackIds": [ack("nacked")]}))
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

#[test_log::test(tokio::test(start_paused = true))]
async fn modify_ack_deadline_extends_a_lease_and_zero_nacks() {
    let app = App::memory();
    app.topic_with_subscription("long-jobs", "slow", json!({"ackDeadlineSeconds": 10}))
        .await;
    let batch = json!([{"data": b64("extended")}, {"data": b64("released")}]);
    app.publish("long-jobs", batch).await.ok();
    let first = pull(&app, "slow").await;
    let extend = json!({"ackIds": [first[&b64("extended")].0], "ackDeadlineSeconds": 60});
    app.verb("slow", "modifyAckDeadline", extend).await.ok();
    let release = json!({"ackIds": [first[&b64("released")].0], "ackDeadlineSeconds": 0});
    app.verb("slow", "modifyAckDeadline", release).await.ok();
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

#[test_log::test(tokio::test(start_paused = true))]
async fn long_poll_returns_as_soon_as_a_message_is_published() {
    let app = App::memory();
    app.topic_with_subscription("events", "tail", json!({}))
        .await;
    let start = tokio::time::Instant::now();
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move { app.verb("tail", "pull", json!({"waitSeconds": 30})).await })
    };
    // Let the pull reach its wait; time cannot advance while this task is runnable.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    app.publish("events", json!([{"data": b64("wake")}]))
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
    let empty = app.verb("tail", "pull", json!({"waitSeconds": 5})).await;
    assert_eq!(empty.ok()["receivedMessages"], json!([]));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

/// Pulls everything deliverable now: data (base64) → (ack id, attempt).
async fn pull(app: &App, sub: &str) -> BTreeMap<String, (String, u64)> {
    app.pull(sub, json!({"maxMessages": 100}))
        .await
        .iter()
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

#[test_log::test(tokio::test(start_paused = true))]
async fn leases_one_after_another_start_on_different_partitions() {
    let app = App::memory();
    app.put_topic("spread", json!({"partitions": 2})).await.ok();
    app.put_subscription("readers", json!({"topic": "spread"}))
        .await
        .ok();
    tracing::info!("two publish requests: each goes whole to the next partition in turn");
    for batch in ["a", "b"] {
        let messages: Vec<_> = (0..4)
            .map(|i| json!({"data": b64(&format!("{batch}{i}"))}))
            .collect();
        app.publish("spread", json!(messages)).await.ok();
    }

    tracing::info!(
        "with no publish in between, four leases of one message each still take turns: \
         consumers leasing together do not all queue on one partition"
    );
    let mut partitions = Vec::new();
    for _ in 0..4 {
        let received = app
            .pull("readers", json!({"maxMessages": 1, "waitSeconds": 0}))
            .await;
        assert_eq!(received.len(), 1);
        let id = received[0]["message"]["messageId"].as_str().expect("id");
        partitions.push(id.split_once('-').expect("partition-offset").0.to_owned());
    }
    assert_ne!(
        partitions[0], partitions[1],
        "partitions leased: {partitions:?}"
    );
    assert_ne!(
        partitions[1], partitions[2],
        "partitions leased: {partitions:?}"
    );
    assert_ne!(
        partitions[2], partitions[3],
        "partitions leased: {partitions:?}"
    );
}

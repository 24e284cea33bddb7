//! When and how often a message is delivered, with paused time: priority,
//! delay and TTL, the at-most-once and exactly-once modes, seek and lag, and
//! times outside the calendar refused without moving a cursor.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::router::{App, b64};
use tokio::time::Instant;

use crate::{ack_id, pull};

#[test_log::test(tokio::test(start_paused = true))]
async fn priority_delay_and_ttl() {
    let app = App::memory();
    let broker = app.broker().clone();
    app.put_topic("mixed", json!({})).await.ok();
    app.put_subscription("reader", json!({"topic": "mixed"}))
        .await
        .ok();
    app.publish(
        "mixed",
        json!([
            {"data": b64("low"), "priority": 0},
            {"data": b64("high"), "priority": 9},
            {"data": b64("later"), "deliverAfter": "30s"},
            {"data": b64("short-lived"), "ttl": "5s"},
        ]),
    )
    .await
    .ok();
    tokio::time::advance(Duration::from_secs(5)).await;
    let first = pull(&app, "reader", 1, 0).await;
    assert_eq!(
        first[0]["message"]["data"],
        b64("high"),
        "higher priority first"
    );
    let rest = pull(&app, "reader", 10, 0).await;
    let data: Vec<&str> = rest
        .iter()
        .filter_map(|m| m["message"]["data"].as_str())
        .collect();
    assert_eq!(
        data,
        vec![b64("low")],
        "the delayed one waits and the expired one is gone"
    );
    let ids = json!({"ackIds": [ack_id(&first[0]), ack_id(&rest[0])]});
    app.verb("reader", "acknowledge", ids).await.ok();

    let start = Instant::now();
    let later = pull(&app, "reader", 10, 60).await;
    assert_eq!(later[0]["message"]["data"], b64("later"));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(25),
        "delivered when its 30 s delay ended"
    );
    assert!(later[0]["message"]["deliverTime"].is_string());

    let stats = app.get("/v1/subscriptions/reader").await.ok()["stats"].clone();
    assert_eq!(stats["expiredMessages"], 1);
    assert_eq!(broker.metrics.expired.get(), 1);
}

#[test_log::test(tokio::test(start_paused = true))]
async fn at_most_once_never_redelivers_and_exactly_once_refuses_stale_acks() {
    let app = App::memory();
    app.put_topic("modes", json!({})).await.ok();
    app.put_subscription(
        "fire-and-forget",
        json!({"topic": "modes", "deliveryMode": "at-most-once"}),
    )
    .await
    .ok();
    app.put_subscription(
        "exact",
        json!({"topic": "modes", "deliveryMode": "exactly-once"}),
    )
    .await
    .ok();
    app.publish("modes", json!([{"data": b64("once")}]))
        .await
        .ok();

    assert_eq!(pull(&app, "fire-and-forget", 10, 0).await.len(), 1);
    let first = pull(&app, "exact", 10, 0).await;
    tokio::time::advance(Duration::from_secs(11)).await;
    assert!(
        pull(&app, "fire-and-forget", 10, 0).await.is_empty(),
        "at-most-once: never again"
    );
    let second = pull(&app, "exact", 10, 0).await;
    assert_eq!(second[0]["deliveryAttempt"], 2);

    let stale = app
        .verb(
            "exact",
            "acknowledge",
            json!({"ackIds": [ack_id(&first[0])]}),
        )
        .await;
    let detail = stale.problem(409, "ACK_EXPIRED");
    assert!(
        detail.contains(first[0]["ackId"].as_str().unwrap_or_default()),
        "{detail}"
    );
    for _ in 0..2 {
        app.verb(
            "exact",
            "acknowledge",
            json!({"ackIds": [ack_id(&second[0])]}),
        )
        .await
        .ok();
    }
    let stats = app.get("/v1/subscriptions/exact").await.ok()["stats"].clone();
    assert_eq!(stats["backlogMessages"], 0);
}

/// A one-partition `topic` holding one message, `data`, and a subscription
/// `sub` on it from before the message.
async fn topic_with_one_message(app: &App, topic: &str, sub: &str, data: &str) {
    app.put_topic(topic, json!({})).await.ok();
    app.put_subscription(sub, json!({ "topic": topic }))
        .await
        .ok();
    app.publish(topic, json!([{ "data": b64(data) }]))
        .await
        .ok();
}

#[test_log::test(tokio::test(start_paused = true))]
async fn seek_and_lag() {
    let app = App::memory();
    topic_with_one_message(&app, "history", "replay", "m0").await;
    tokio::time::advance(Duration::from_secs(7)).await;
    let stats = app.get("/v1/subscriptions/replay").await.ok()["stats"].clone();
    assert_eq!(
        stats["oldestUnackedAgeSeconds"], 7.0,
        "lag as the age of the oldest unacked message"
    );

    tokio::time::advance(Duration::from_secs(1)).await;
    app.publish("history", json!([{"data": b64("m1")}]))
        .await
        .ok();
    let all = pull(&app, "replay", 10, 0).await;
    let ids: Vec<Value> = all.iter().map(ack_id).collect();
    app.verb("replay", "acknowledge", json!({"ackIds": ids}))
        .await
        .ok();
    assert!(
        app.get("/v1/subscriptions/replay").await.ok()["stats"]["oldestUnackedAgeSeconds"]
            .is_null()
    );
    let cutoff = all
        .iter()
        .find(|m| m["message"]["data"] == b64("m1"))
        .map(|m| m["message"]["publishTime"].clone())
        .expect("m1 pulled");

    app.verb("replay", "seek", json!({"time": cutoff}))
        .await
        .ok();
    let after_cutoff = pull(&app, "replay", 10, 0).await;
    assert_eq!(after_cutoff.len(), 1);
    assert_eq!(after_cutoff[0]["message"]["data"], b64("m1"));
    app.verb("replay", "seek", json!({"position": "earliest"}))
        .await
        .ok();
    assert_eq!(pull(&app, "replay", 10, 0).await.len(), 2);
    app.verb("replay", "seek", json!({"position": "latest"}))
        .await
        .ok();
    assert!(pull(&app, "replay", 10, 0).await.is_empty());
    app.verb("replay", "seek", json!({}))
        .await
        .problem(400, "INVALID_ARGUMENT");
}

#[test_log::test(tokio::test)]
async fn a_time_outside_the_calendar_is_invalid_and_moves_no_cursor() {
    let app = App::memory();
    topic_with_one_message(&app, "calendar", "dates", "kept").await;

    // (verb, field, value): the field must be named in the detail.
    let refused = [
        ("seek", "time", "2026-02-31T00:00:00Z"),
        ("seek", "time", "2999-02-31T00:00:00Z"),
        ("redrive", "publishedAfter", "2026-02-29T00:00:00Z"),
        ("redrive", "publishedBefore", "2026-04-31T00:00:00Z"),
    ];
    for (name, field, time) in refused {
        let detail = app
            .verb("dates", name, json!({ field: time }))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert!(detail.starts_with(&format!("{field}: ")), "{detail}");
    }
    let pulled = pull(&app, "dates", 10, 0).await;
    assert_eq!(pulled.len(), 1, "no seek moved the cursor past the message");
    assert_eq!(pulled[0]["message"]["data"], b64("kept"));
}

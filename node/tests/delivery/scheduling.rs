//! When and how often a message is delivered, with paused time: priority,
//! delay and TTL, the at-most-once and exactly-once modes, seek and lag.

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
    assert_eq!(broker.metrics().expired.get(), 1);
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

#[test_log::test(tokio::test(start_paused = true))]
async fn seek_and_lag() {
    let app = App::memory();
    app.put_topic("history", json!({})).await.ok();
    app.put_subscription("replay", json!({"topic": "history"}))
        .await
        .ok();
    app.publish("history", json!([{"data": b64("m0")}]))
        .await
        .ok();
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

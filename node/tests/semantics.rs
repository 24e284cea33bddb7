//! Delivery semantics over HTTP against the real router, with paused time:
//! retry backoff, dead letters and redrive, parked ordering keys, priorities,
//! delay, TTL, delivery modes, seek and lag.

mod support;

use std::time::Duration;

use axum::Router;
use http::Method;
use serde_json::{Value, json};
use support::{app, b64, get, json};
use tokio::time::Instant;

async fn create_topic(app: &Router, name: &str) {
    json(app, Method::PUT, &format!("/v1/topics/{name}"), json!({}))
        .await
        .ok();
}

async fn create_sub(app: &Router, name: &str, body: Value) {
    json(app, Method::PUT, &format!("/v1/subscriptions/{name}"), body)
        .await
        .ok();
}

async fn publish(app: &Router, topic: &str, messages: Value) {
    json(
        app,
        Method::POST,
        &format!("/v1/topics/{topic}:publish"),
        json!({ "messages": messages }),
    )
    .await
    .ok();
}

/// Pulls with a long poll; returns the received messages.
async fn pull(app: &Router, sub: &str, max: u32, wait: u32) -> Vec<Value> {
    let body = json!({"maxMessages": max, "waitSeconds": wait});
    let reply = json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{sub}:pull"),
        body,
    )
    .await;
    reply.ok()["receivedMessages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn verb(app: &Router, sub: &str, verb: &str, body: Value) -> support::Reply {
    json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{sub}:{verb}"),
        body,
    )
    .await
}

fn ack_id(received: &Value) -> Value {
    received["ackId"].clone()
}

#[tokio::test(start_paused = true)]
async fn nack_and_deadline_expiry_follow_the_backoff_schedule() {
    let (app, _) = app();
    create_topic(&app, "jobs").await;
    create_sub(
        &app,
        "workers",
        json!({"topic": "jobs", "ackDeadlineSeconds": 10, "retryPolicy": {"minimumBackoff": "2s", "maximumBackoff": "20s"}}),
    )
    .await;
    publish(&app, "jobs", json!([{"data": b64("job")}])).await;

    let first = pull(&app, "workers", 1, 0).await;
    tracing::info!("nack after attempt 1: redelivered after exactly the 2 s minimum");
    verb(
        &app,
        "workers",
        "nack",
        json!({"ackIds": [ack_id(&first[0])]}),
    )
    .await
    .ok();
    let start = Instant::now();
    let second = pull(&app, "workers", 1, 60).await;
    assert_eq!(second[0]["deliveryAttempt"], 2);
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    tracing::info!("nack after attempt 2: between 2 s and 4 s");
    verb(
        &app,
        "workers",
        "nack",
        json!({"ackIds": [ack_id(&second[0])]}),
    )
    .await
    .ok();
    let start = Instant::now();
    let third = pull(&app, "workers", 1, 60).await;
    assert_eq!(third[0]["deliveryAttempt"], 3);
    let waited = start.elapsed();
    assert!(
        (Duration::from_secs(2)..=Duration::from_secs(4)).contains(&waited),
        "{waited:?}"
    );

    tracing::info!("no ack after attempt 3: the 10 s deadline, then between 4 s and 8 s");
    let start = Instant::now();
    let fourth = pull(&app, "workers", 1, 60).await;
    assert_eq!(fourth[0]["deliveryAttempt"], 4);
    let waited = start.elapsed();
    assert!(
        (Duration::from_secs(14)..=Duration::from_secs(18)).contains(&waited),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn dead_letters_carry_lineage_and_redrive_to_their_subscription_only() {
    let (app, _) = app();
    create_topic(&app, "orders").await;
    create_topic(&app, "orders-dlq").await;
    create_sub(&app, "dlq-reader", json!({"topic": "orders-dlq"})).await;
    create_sub(
        &app,
        "billing",
        json!({"topic": "orders", "deadLetterPolicy": {"deadLetterTopic": "orders-dlq", "maxDeliveryAttempts": 5}}),
    )
    .await;
    create_sub(&app, "audit", json!({"topic": "orders"})).await;
    publish(
        &app,
        "orders",
        json!([{"data": b64("poison"), "attributes": {"kind": "order"}}]),
    )
    .await;

    tracing::info!("audit processes the message once");
    let audited = pull(&app, "audit", 10, 0).await;
    verb(
        &app,
        "audit",
        "acknowledge",
        json!({"ackIds": [ack_id(&audited[0])]}),
    )
    .await
    .ok();

    tracing::info!("billing nacks it 5 times");
    for attempt in 1..=5 {
        let got = pull(&app, "billing", 10, 0).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["deliveryAttempt"], attempt);
        verb(
            &app,
            "billing",
            "nack",
            json!({"ackIds": [ack_id(&got[0])], "reason": "bad payload"}),
        )
        .await
        .ok();
    }
    assert!(
        pull(&app, "billing", 10, 0).await.is_empty(),
        "dead-lettered, not redelivered"
    );

    tracing::info!("the dead-letter topic has it, with its lineage");
    let dead = pull(&app, "dlq-reader", 10, 0).await;
    assert_eq!(dead.len(), 1);
    let attributes = &dead[0]["message"]["attributes"];
    assert_eq!(dead[0]["message"]["data"], b64("poison"));
    assert_eq!(attributes["kind"], "order");
    assert_eq!(attributes["pubsubgo.sourceTopic"], "orders");
    assert_eq!(attributes["pubsubgo.sourcePartition"], "0");
    assert_eq!(attributes["pubsubgo.sourceOffset"], "0");
    assert_eq!(attributes["pubsubgo.subscription"], "billing");
    assert_eq!(attributes["pubsubgo.deliveryAttempts"], "5");
    assert_eq!(attributes["pubsubgo.lastError"], "bad payload");
    let listed = get(&app, "/v1/subscriptions/billing:deadLetters").await;
    assert_eq!(listed.ok()["deadLetters"][0]["deliveryAttempts"], 5);
    let stats = get(&app, "/v1/subscriptions/billing").await.ok()["stats"].clone();
    assert_eq!(
        (
            stats["backlogMessages"].clone(),
            stats["deadLetteredMessages"].clone()
        ),
        (json!(0), json!(1))
    );

    tracing::info!("redrive: billing gets it again from attempt 1; audit does not see it twice");
    let redriven = verb(&app, "billing", "redrive", json!({})).await;
    assert_eq!(redriven.ok()["redriven"], 1);
    let again = pull(&app, "billing", 10, 0).await;
    assert_eq!(
        (again.len(), again[0]["deliveryAttempt"].clone()),
        (1, json!(1))
    );
    assert!(pull(&app, "audit", 10, 0).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_parked_ordering_key_waits_while_others_flow_and_resumes_in_order() {
    let (app, _) = app();
    create_topic(&app, "ledger").await;
    create_topic(&app, "ledger-dlq").await;
    create_sub(
        &app,
        "posting",
        json!({"topic": "ledger", "enableMessageOrdering": true,
               "deadLetterPolicy": {"deadLetterTopic": "ledger-dlq", "maxDeliveryAttempts": 5}}),
    )
    .await;
    publish(
        &app,
        "ledger",
        json!([
            {"data": b64("a1"), "orderingKey": "acct-a"},
            {"data": b64("a2"), "orderingKey": "acct-a"},
            {"data": b64("a3"), "orderingKey": "acct-a"},
            {"data": b64("b1"), "orderingKey": "acct-b"},
        ]),
    )
    .await;
    let data = |messages: &[Value]| -> Vec<String> {
        messages
            .iter()
            .map(|m| m["message"]["data"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    for attempt in 1..=5 {
        let got = pull(&app, "posting", 10, 0).await;
        let (a, b): (Vec<Value>, Vec<Value>) = got
            .into_iter()
            .partition(|m| m["message"]["orderingKey"] == "acct-a");
        assert_eq!(
            data(&a),
            vec![b64("a1")],
            "attempt {attempt}: acct-a offers only its first message"
        );
        if attempt == 1 {
            assert_eq!(data(&b), vec![b64("b1")]);
            verb(
                &app,
                "posting",
                "acknowledge",
                json!({"ackIds": [ack_id(&b[0])]}),
            )
            .await
            .ok();
        }
        verb(&app, "posting", "nack", json!({"ackIds": [ack_id(&a[0])]}))
            .await
            .ok();
    }
    let stats = get(&app, "/v1/subscriptions/posting").await.ok()["stats"].clone();
    assert_eq!(stats["parkedOrderingKeys"], json!(["acct-a"]));

    tracing::info!("acct-b keeps flowing while acct-a is parked");
    publish(
        &app,
        "ledger",
        json!([{"data": b64("b2"), "orderingKey": "acct-b"}]),
    )
    .await;
    let flowing = pull(&app, "posting", 10, 0).await;
    assert_eq!(
        data(&flowing),
        vec![b64("b2")],
        "only acct-b flows; acct-a stays parked"
    );

    tracing::info!("resuming acct-a delivers a2 then a3, in order");
    let resumed = verb(
        &app,
        "posting",
        "resumeOrderingKey",
        json!({"orderingKey": "acct-a"}),
    )
    .await;
    assert_eq!(resumed.ok()["resumed"], true);
    let next: Vec<Value> = pull(&app, "posting", 10, 0)
        .await
        .into_iter()
        .filter(|m| m["message"]["orderingKey"] == "acct-a")
        .collect();
    assert_eq!(data(&next), vec![b64("a2")]);
    verb(
        &app,
        "posting",
        "acknowledge",
        json!({"ackIds": [ack_id(&next[0])]}),
    )
    .await
    .ok();
    let last: Vec<Value> = pull(&app, "posting", 10, 0)
        .await
        .into_iter()
        .filter(|m| m["message"]["orderingKey"] == "acct-a")
        .collect();
    assert_eq!(data(&last), vec![b64("a3")]);
}

#[tokio::test(start_paused = true)]
async fn priority_delay_and_ttl() {
    let (app, broker) = app();
    create_topic(&app, "mixed").await;
    create_sub(&app, "reader", json!({"topic": "mixed"})).await;
    publish(
        &app,
        "mixed",
        json!([
            {"data": b64("low"), "priority": 0},
            {"data": b64("high"), "priority": 9},
            {"data": b64("later"), "deliverAfter": "30s"},
            {"data": b64("short-lived"), "ttl": "5s"},
        ]),
    )
    .await;
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
    verb(&app, "reader", "acknowledge", ids).await.ok();

    let start = Instant::now();
    let later = pull(&app, "reader", 10, 60).await;
    assert_eq!(later[0]["message"]["data"], b64("later"));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(25),
        "delivered when its 30 s delay ended"
    );
    assert!(later[0]["message"]["deliverTime"].is_string());

    let stats = get(&app, "/v1/subscriptions/reader").await.ok()["stats"].clone();
    assert_eq!(stats["expiredMessages"], 1);
    assert_eq!(broker.metrics.expired.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn at_most_once_never_redelivers_and_exactly_once_refuses_stale_acks() {
    let (app, _) = app();
    create_topic(&app, "modes").await;
    create_sub(
        &app,
        "fire-and-forget",
        json!({"topic": "modes", "deliveryMode": "at-most-once"}),
    )
    .await;
    create_sub(
        &app,
        "exact",
        json!({"topic": "modes", "deliveryMode": "exactly-once"}),
    )
    .await;
    publish(&app, "modes", json!([{"data": b64("once")}])).await;

    assert_eq!(pull(&app, "fire-and-forget", 10, 0).await.len(), 1);
    let first = pull(&app, "exact", 10, 0).await;
    tokio::time::advance(Duration::from_secs(11)).await;
    assert!(
        pull(&app, "fire-and-forget", 10, 0).await.is_empty(),
        "at-most-once: never again"
    );
    let second = pull(&app, "exact", 10, 0).await;
    assert_eq!(second[0]["deliveryAttempt"], 2);

    let stale = verb(
        &app,
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
    verb(
        &app,
        "exact",
        "acknowledge",
        json!({"ackIds": [ack_id(&second[0])]}),
    )
    .await
    .ok();
    verb(
        &app,
        "exact",
        "acknowledge",
        json!({"ackIds": [ack_id(&second[0])]}),
    )
    .await
    .ok();
    let stats = get(&app, "/v1/subscriptions/exact").await.ok()["stats"].clone();
    assert_eq!(stats["backlogMessages"], 0);
}

#[tokio::test(start_paused = true)]
async fn seek_and_lag() {
    let (app, _) = app();
    create_topic(&app, "history").await;
    create_sub(&app, "replay", json!({"topic": "history"})).await;
    publish(&app, "history", json!([{"data": b64("m0")}])).await;
    tokio::time::advance(Duration::from_secs(7)).await;
    let stats = get(&app, "/v1/subscriptions/replay").await.ok()["stats"].clone();
    assert_eq!(
        stats["oldestUnackedAgeSeconds"], 7.0,
        "lag as the age of the oldest unacked message"
    );

    tokio::time::advance(Duration::from_secs(1)).await;
    publish(&app, "history", json!([{"data": b64("m1")}])).await;
    let all = pull(&app, "replay", 10, 0).await;
    let ids: Vec<Value> = all.iter().map(ack_id).collect();
    verb(&app, "replay", "acknowledge", json!({"ackIds": ids}))
        .await
        .ok();
    assert!(
        get(&app, "/v1/subscriptions/replay").await.ok()["stats"]["oldestUnackedAgeSeconds"]
            .is_null()
    );
    let cutoff = all
        .iter()
        .find(|m| m["message"]["data"] == b64("m1"))
        .map(|m| m["message"]["publishTime"].clone())
        .expect("m1 pulled");

    verb(&app, "replay", "seek", json!({"time": cutoff}))
        .await
        .ok();
    let after_cutoff = pull(&app, "replay", 10, 0).await;
    assert_eq!(after_cutoff.len(), 1);
    assert_eq!(after_cutoff[0]["message"]["data"], b64("m1"));
    verb(&app, "replay", "seek", json!({"position": "earliest"}))
        .await
        .ok();
    assert_eq!(pull(&app, "replay", 10, 0).await.len(), 2);
    verb(&app, "replay", "seek", json!({"position": "latest"}))
        .await
        .ok();
    assert!(pull(&app, "replay", 10, 0).await.is_empty());
    verb(&app, "replay", "seek", json!({}))
        .await
        .problem(400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn a_time_outside_the_calendar_is_invalid_and_moves_no_cursor() {
    let (app, _) = app();
    create_topic(&app, "calendar").await;
    create_sub(&app, "dates", json!({"topic": "calendar"})).await;
    publish(&app, "calendar", json!([{"data": b64("kept")}])).await;

    // (verb, field, value): the field must be named in the detail.
    let refused = [
        ("seek", "time", "2026-02-31T00:00:00Z"),
        ("seek", "time", "2999-02-31T00:00:00Z"),
        ("redrive", "publishedAfter", "2026-02-29T00:00:00Z"),
        ("redrive", "publishedBefore", "2026-04-31T00:00:00Z"),
    ];
    for (name, field, time) in refused {
        let detail = verb(&app, "dates", name, json!({ field: time }))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert!(detail.starts_with(&format!("{field}: ")), "{detail}");
    }
    let pulled = pull(&app, "dates", 10, 0).await;
    assert_eq!(pulled.len(), 1, "no seek moved the cursor past the message");
    assert_eq!(pulled[0]["message"]["data"], b64("kept"));
}

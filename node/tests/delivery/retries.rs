//! Retries with paused time: the backoff schedule of nacks and expired
//! deadlines, dead letters with their lineage and redrive, and an ordering key
//! parked while the others flow.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::router::{App, b64};
use tokio::time::Instant;

use crate::{ack_id, pull};

#[test_log::test(tokio::test(start_paused = true))]
async fn nack_and_deadline_expiry_follow_the_backoff_schedule() {
    let app = App::memory();
    app.put_topic("jobs", json!({})).await.ok();
    app.put_subscription("workers", json!({"topic": "jobs", "ackDeadlineSeconds": 10, "retryPolicy": {"minimumBackoff": "2s", "maximumBackoff": "20s"}})).await.ok();
    app.publish("jobs", json!([{"data": b64("job")}]))
        .await
        .ok();

    let first = pull(&app, "workers", 1, 0).await;
    tracing::info!("nack after attempt 1: redelivered after exactly the 2 s minimum");
    app.verb("workers", "nack", json!({"ackIds": [ack_id(&first[0])]}))
        .await
        .ok();
    let start = Instant::now();
    let second = pull(&app, "workers", 1, 60).await;
    assert_eq!(second[0]["deliveryAttempt"], 2);
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    tracing::info!("nack after attempt 2: between 2 s and 4 s");
    app.verb("workers", "nack", json!({"ackIds": [ack_id(&second[0])]}))
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

#[test_log::test(tokio::test(start_paused = true))]
async fn dead_letters_carry_lineage_and_redrive_to_their_subscription_only() {
    let app = App::memory();
    app.put_topic("orders", json!({})).await.ok();
    app.put_topic("orders-dlq", json!({})).await.ok();
    app.put_subscription("dlq-reader", json!({"topic": "orders-dlq"}))
        .await
        .ok();
    app.put_subscription("billing", json!({"topic": "orders", "deadLetterPolicy": {"deadLetterTopic": "orders-dlq", "maxDeliveryAttempts": 5}})).await.ok();
    app.put_subscription("audit", json!({"topic": "orders"}))
        .await
        .ok();
    app.publish(
        "orders",
        json!([{"data": b64("poison"), "attributes": {"kind": "order"}}]),
    )
    .await
    .ok();

    tracing::info!("audit processes the message once");
    let audited = pull(&app, "audit", 10, 0).await;
    app.verb(
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
        app.verb(
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
    assert_eq!(attributes["CloudPubSubDeadLetterSourceDeliveryCount"], "5");
    assert_eq!(
        attributes["CloudPubSubDeadLetterSourceSubscription"],
        "billing"
    );
    assert!(attributes["CloudPubSubDeadLetterSourceTopicPublishTime"].is_string());
    let listed = app.get("/v1/subscriptions/billing:deadLetters").await;
    assert_eq!(listed.ok()["deadLetters"][0]["deliveryAttempts"], 5);
    let stats = app.get("/v1/subscriptions/billing").await.ok()["stats"].clone();
    assert_eq!(
        (
            stats["backlogMessages"].clone(),
            stats["deadLetteredMessages"].clone()
        ),
        (json!(0), json!(1))
    );

    tracing::info!("redrive: billing gets it again from attempt 1; audit does not see it twice");
    let redriven = app.verb("billing", "redrive", json!({})).await;
    assert_eq!(redriven.ok()["redriven"], 1);
    let again = pull(&app, "billing", 10, 0).await;
    assert_eq!(
        (again.len(), again[0]["deliveryAttempt"].clone()),
        (1, json!(1))
    );
    assert!(pull(&app, "audit", 10, 0).await.is_empty());
}

#[test_log::test(tokio::test(start_paused = true))]
async fn a_parked_ordering_key_waits_while_others_flow_and_resumes_in_order() {
    let app = App::memory();
    app.put_topic("ledger", json!({})).await.ok();
    app.put_topic("ledger-dlq", json!({})).await.ok();
    app.put_subscription(
        "posting",
        json!({"topic": "ledger", "enableMessageOrdering": true,
               "deadLetterPolicy": {"deadLetterTopic": "ledger-dlq", "maxDeliveryAttempts": 5}}),
    )
    .await
    .ok();
    app.publish(
        "ledger",
        json!([
            {"data": b64("a1"), "orderingKey": "acct-a"},
            {"data": b64("a2"), "orderingKey": "acct-a"},
            {"data": b64("a3"), "orderingKey": "acct-a"},
            {"data": b64("b1"), "orderingKey": "acct-b"},
        ]),
    )
    .await
    .ok();
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
            app.verb("posting", "acknowledge", json!({"ackIds": [ack_id(&b[0])]}))
                .await
                .ok();
        }
        app.verb("posting", "nack", json!({"ackIds": [ack_id(&a[0])]}))
            .await
            .ok();
    }
    let stats = app.get("/v1/subscriptions/posting").await.ok()["stats"].clone();
    assert_eq!(stats["parkedOrderingKeys"], json!(["acct-a"]));

    tracing::info!("acct-b keeps flowing while acct-a is parked");
    app.publish(
        "ledger",
        json!([{"data": b64("b2"), "orderingKey": "acct-b"}]),
    )
    .await
    .ok();
    let flowing = pull(&app, "posting", 10, 0).await;
    assert_eq!(
        data(&flowing),
        vec![b64("b2")],
        "only acct-b flows; acct-a stays parked"
    );

    tracing::info!("resuming acct-a delivers a2 then a3, in order");
    let resumed = app
        .verb(
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
    app.verb(
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

#[test_log::test(tokio::test(start_paused = true))]
async fn a_dead_letter_copy_that_cannot_be_stored_yet_stays_in_the_outbox_and_is_stored_once() {
    let app = App::memory();
    app.put_topic("orders", json!({})).await.ok();
    app.put_topic("late-dlq", json!({})).await.ok();
    app.put_subscription("billing", json!({"topic": "orders", "deadLetterPolicy": {"deadLetterTopic": "late-dlq", "maxDeliveryAttempts": 5}})).await.ok();
    app.publish("orders", json!([{"data": b64("poison")}]))
        .await
        .ok();

    tracing::info!("arrange: the dead-letter topic is gone when the message dies");
    app.delete("/v1/topics/late-dlq").await.ok();
    for _ in 1..=5 {
        let got = pull(&app, "billing", 10, 0).await;
        app.verb("billing", "nack", json!({"ackIds": [ack_id(&got[0])]}))
            .await
            .ok();
    }
    let listed = app.get("/v1/subscriptions/billing:deadLetters").await;
    assert_eq!(listed.ok()["deadLetters"].as_array().map(Vec::len), Some(1));

    tracing::info!("act: the topic comes back, with a reader");
    app.put_topic("late-dlq", json!({})).await.ok();
    app.put_subscription("dlq-reader", json!({"topic": "late-dlq"}))
        .await
        .ok();

    tracing::info!("assert: the copy waits in the outbox until upkeep drains it, once");
    assert!(pull(&app, "dlq-reader", 10, 0).await.is_empty());
    app.broker().upkeep.maintain().await;
    app.broker().upkeep.maintain().await;
    let dead = pull(&app, "dlq-reader", 10, 0).await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert_eq!(dead[0]["message"]["data"], b64("poison"));
    app.verb(
        "dlq-reader",
        "acknowledge",
        json!({"ackIds": [ack_id(&dead[0])]}),
    )
    .await
    .ok();
    app.broker().upkeep.maintain().await;
    assert!(pull(&app, "dlq-reader", 10, 0).await.is_empty());
}

//! Bad requests, by kind: each gets problem+json with its status and code, a
//! detail that helps, `retryable: false` and a problem type; none stores
//! anything, and the server serves on.

use http::Method;
use serde_json::json;
use testkit::router::{App, Reply, b64};

const PUBLISH: &str = "/v1/topics/orders:publish";

/// A topic `orders` with a 100-byte message limit, a subscription `audit`
/// from the earliest, and one good message, `before`.
async fn orders() -> App {
    tracing::info!(
        "arrange: a topic with a small message limit and a subscription from the earliest"
    );
    let app = App::memory();
    app.put_topic("orders", json!({"partitions": 2, "maxMessageBytes": 100}))
        .await
        .ok();
    app.put_subscription(
        "audit",
        json!({"topic": "orders", "startPosition": "earliest"}),
    )
    .await
    .ok();
    app.publish("orders", json!([{"data": b64("before")}]))
        .await
        .ok();
    app
}

/// Checks each `(what, reply, status, code)`.
fn assert_problems(cases: &[(&str, Reply, u16, &str)]) {
    tracing::info!("assert: each has its status and code, with a detail that helps");
    for (what, reply, status, code) in cases {
        let detail = reply.problem(*status, code);
        assert!(!detail.is_empty(), "{what}: empty detail");
        assert_eq!(reply.body["retryable"], false, "{what}");
        assert!(
            reply.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:pubsubgo:problem:")),
            "{what}"
        );
    }
}

/// Publishes `after` and checks `audit` holds exactly `before` and `after`.
async fn assert_lost_nothing(app: &App) {
    tracing::info!("assert: the server still serves and holds exactly the two good messages");
    app.publish("orders", json!([{"data": b64("after")}]))
        .await
        .ok();
    let messages = app.pull("audit", json!({"maxMessages": 100})).await;
    let mut data: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["message"]["data"].as_str())
        .collect();
    data.sort_unstable();
    assert_eq!(data, vec![b64("after"), b64("before")]);
}

#[test_log::test(tokio::test)]
async fn on_topics_get_problem_json_and_lose_nothing() {
    let app = orders().await;

    tracing::info!("act: bad topic names, settings, pages and queries");
    let cases = [
        (
            "bad topic name",
            app.put_topic("9lives", json!({})).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "zero partitions",
            app.put_topic("zero", json!({"partitions": 0})).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "topic exists",
            app.put_topic("orders", json!({})).await,
            409,
            "ALREADY_EXISTS",
        ),
        (
            "bad page size",
            app.get("/v1/topics?pageSize=0").await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown query parameter",
            app.get("/v1/topics?size=3").await,
            400,
            "INVALID_ARGUMENT",
        ),
    ];

    assert_problems(&cases);
    assert_lost_nothing(&app).await;
}

#[test_log::test(tokio::test)]
async fn in_publish_bodies_get_problem_json_and_lose_nothing() {
    let app = orders().await;

    tracing::info!("act: one bad publish body of each kind");
    let cases = [
        (
            "oversized message",
            app.publish("orders", json!([{"data": b64(&"x".repeat(101))}]))
                .await,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "bad base64",
            app.publish("orders", json!([{"data": "%%%"}])).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown field",
            app.publish("orders", json!([{"data": b64("x"), "colour": "red"}]))
                .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "batch too large",
            app.publish("orders", json!(vec![json!({"data": b64("x")}); 1001]))
                .await,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "empty batch",
            app.publish("orders", json!([])).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "message without data or attributes",
            app.publish("orders", json!([{"orderingKey": "k"}])).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "priority out of range",
            app.publish("orders", json!([{"data": b64("x"), "priority": 10}]))
                .await,
            400,
            "INVALID_ARGUMENT",
        ),
    ];

    assert_problems(&cases);
    let unknown_field = &cases[2].1;
    assert!(
        unknown_field.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("colour")
    );
    assert_lost_nothing(&app).await;
}

#[test_log::test(tokio::test)]
async fn in_encodings_and_content_types_get_problem_json_and_lose_nothing() {
    let app = orders().await;

    tracing::info!("act: bodies the server cannot read");
    let cases = [
        (
            "unsupported content encoding",
            app.send(
                Method::POST,
                PUBLISH,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                b"{}".to_vec(),
            )
            .await,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "corrupt snappy body",
            app.send(
                Method::POST,
                PUBLISH,
                &[("content-encoding", "snappy")],
                b"\xff\xff\xff\xff".to_vec(),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "wrong content type",
            app.send(
                Method::POST,
                PUBLISH,
                &[("content-type", "text/plain")],
                b"{}".to_vec(),
            )
            .await,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "malformed JSON",
            app.send(
                Method::POST,
                PUBLISH,
                &[("content-type", "application/json")],
                b"{\"messages\": [".to_vec(),
            )
            .await,
            400,
            "MALFORMED_JSON",
        ),
    ];

    assert_problems(&cases);
    assert_lost_nothing(&app).await;
}

#[test_log::test(tokio::test)]
async fn on_subscriptions_get_problem_json_and_lose_nothing() {
    let app = orders().await;

    tracing::info!("act: bad subscriptions, ack ids and pulls");
    let cases = [
        (
            "bad ack id",
            app.verb("audit", "acknowledge", json!({"ackIds": ["not-an-ack-id"]}))
                .await,
            400,
            "INVALID_ACK_ID",
        ),
        (
            "ack id for a partition the topic lacks",
            app.verb("audit", "acknowledge", json!({"ackIds": ["7.0.1.1"]}))
                .await,
            400,
            "INVALID_ACK_ID",
        ),
        (
            "subscription on a missing topic",
            app.put_subscription("orphan", json!({"topic": "missing"}))
                .await,
            404,
            "TOPIC_NOT_FOUND",
        ),
        (
            "ack deadline out of range",
            app.put_subscription("fast", json!({"topic": "orders", "ackDeadlineSeconds": 5}))
                .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "pull of zero messages",
            app.verb("audit", "pull", json!({"maxMessages": 0})).await,
            400,
            "INVALID_ARGUMENT",
        ),
    ];

    assert_problems(&cases);
    assert_lost_nothing(&app).await;
}

#[test_log::test(tokio::test)]
async fn to_unknown_resources_and_routes_get_problem_json_and_lose_nothing() {
    let app = orders().await;

    tracing::info!("act: a missing topic, verbs and paths the API does not have");
    let cases = [
        (
            "unknown topic",
            app.publish("missing", json!([{"data": b64("x")}])).await,
            404,
            "TOPIC_NOT_FOUND",
        ),
        (
            "unknown verb",
            app.json(Method::POST, "/v1/topics/orders:explode", json!({}))
                .await,
            404,
            "NOT_FOUND",
        ),
        (
            "verb on GET",
            app.get(PUBLISH).await,
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "unknown path",
            app.get("/v2/anything").await,
            404,
            "NOT_FOUND",
        ),
    ];

    assert_problems(&cases);
    assert_lost_nothing(&app).await;
}

//! The server does what its OpenAPI document says, case by case, against the
//! real router (`tests/tools/schemathesis-check` explores the rest): methods
//! and `Allow`, verbs, request bodies read as JSON Schema reads them, the
//! ack levels the document offers, and the Idempotency-Key's pattern.

mod support;

use http::Method;
use serde_json::{Value, json};
use support::{app, get, json, send, topic_with_subscription};

#[tokio::test]
async fn a_method_the_document_does_not_list_is_405_with_the_documents_allow() {
    let (app, _) = app();
    tracing::info!("each path's Allow lists what the document lists for that verb, no more");
    for (method, path, allow) in [
        (
            Method::OPTIONS,
            "/v1/topics/orders:publishStream",
            "GET, HEAD",
        ),
        (Method::POST, "/v1/topics/orders", "GET, HEAD, PUT, DELETE"),
        (Method::GET, "/v1/topics/orders:publish", "POST"),
        (Method::PUT, "/v1/subscriptions/work:pull", "POST"),
        (
            Method::DELETE,
            "/v1/subscriptions/work:deadLetters",
            "GET, HEAD",
        ),
        (Method::GET, "/v1/cluster:rebalance", "POST"),
    ] {
        let reply = send(&app, method.clone(), path, &[], Vec::new()).await;
        let detail = reply.problem(405, "METHOD_NOT_ALLOWED");
        assert_eq!(
            reply.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}: {detail}"
        );
    }
}

#[tokio::test]
async fn a_verb_no_endpoint_has_is_404() {
    let (app, _) = app();
    for (method, path) in [
        (Method::GET, "/v1/topics/orders:bogus"),
        (Method::DELETE, "/v1/subscriptions/work:bogus"),
        (Method::POST, "/v1/topics/orders:bogus"),
    ] {
        send(&app, method, path, &[], Vec::new())
            .await
            .problem(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn bodies_are_read_as_json_schema_reads_them() {
    let (app, _) = app();
    topic_with_subscription(&app, "orders", "work", json!({})).await;

    tracing::info!("10.0 is an integer to JSON Schema, so to the server");
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/work:pull",
        json!({"maxMessages": 10.0, "waitSeconds": 0.0}),
    )
    .await
    .ok();
    tracing::info!("an array where the document has an object is refused");
    let detail = json(
        &app,
        Method::PUT,
        "/v1/subscriptions/other",
        json!({"topic": "orders", "retryPolicy": [null, null]}),
    )
    .await
    .problem(400, "INVALID_ARGUMENT");
    assert!(detail.contains("array"), "{detail}");
    tracing::info!("a body the document marks optional may be left out");
    send(&app, Method::POST, "/v1/cluster:rebalance", &[], Vec::new())
        .await
        .ok();
    send(
        &app,
        Method::POST,
        "/v1/subscriptions/work:pull",
        &[],
        Vec::new(),
    )
    .await
    .ok();
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused_even_without_deduplication() {
    let (app, _) = app();
    json(
        &app,
        Method::PUT,
        "/v1/topics/orders",
        json!({"dedupWindow": "0s", "maxMessageBytes": 1}),
    )
    .await
    .ok();
    let body = serde_json::to_vec(&json!({"messages": [{"data": "aGVsbG8="}]})).expect("json");
    tracing::info!("the key is checked before the body, whose size would be refused too");
    send(
        &app,
        Method::POST,
        "/v1/topics/orders:publish",
        &[
            ("content-type", "application/json"),
            ("idempotency-key", "has spaces"),
        ],
        body,
    )
    .await
    .problem(400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn the_document_offers_the_ack_levels_of_the_storage() {
    let (app, _) = app();
    let doc = get(&app, "/openapi.json").await;
    let pattern = &doc.ok()["components"]["schemas"]["CreateTopicRequest"]["properties"]["ackLevel"]
        ["pattern"];
    assert_eq!(
        pattern,
        &Value::from("^memory$"),
        "memory storage offers memory only"
    );
    json(
        &app,
        Method::PUT,
        "/v1/topics/orders",
        json!({"ackLevel": "leader"}),
    )
    .await
    .problem(400, "INVALID_ARGUMENT");
}

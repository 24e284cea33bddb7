//! The server does what its OpenAPI document says, case by case, against the
//! real router (`tests/tools/schemathesis-check` explores the rest): methods
//! and `Allow`, every `:verb` on its method and unknown verbs, request bodies
//! read as JSON Schema reads them, the ack levels the document offers, and
//! the Idempotency-Key's pattern.

use api::paths;
use api::verbs::{SubscriptionVerb, TopicVerb, Verb};
use http::Method;
use serde_json::{Value, json};
use testkit::router::App;

#[test_log::test(tokio::test)]
async fn a_method_the_document_does_not_list_is_405_with_the_documents_allow() {
    let app = App::memory();
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
        let reply = app.send(method.clone(), path, &[], Vec::new()).await;
        let detail = reply.problem(405, "METHOD_NOT_ALLOWED");
        assert_eq!(
            reply.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}: {detail}"
        );
    }
}

#[test_log::test(tokio::test)]
async fn a_verb_no_endpoint_has_is_404() {
    let app = App::memory();
    for (method, path) in [
        (Method::GET, "/v1/topics/orders:bogus"),
        (Method::DELETE, "/v1/subscriptions/work:bogus"),
        (Method::POST, "/v1/topics/orders:bogus"),
    ] {
        app.send(method, path, &[], Vec::new())
            .await
            .problem(404, "NOT_FOUND");
    }
}

#[test_log::test(tokio::test)]
async fn bodies_are_read_as_json_schema_reads_them() {
    let app = App::memory();
    app.topic_with_subscription("orders", "work", json!({}))
        .await;

    tracing::info!("10.0 is an integer to JSON Schema, so to the server");
    app.json(
        Method::POST,
        "/v1/subscriptions/work:pull",
        json!({"maxMessages": 10.0, "waitSeconds": 0.0}),
    )
    .await
    .ok();
    tracing::info!("an array where the document has an object is refused");
    let detail = app
        .json(
            Method::PUT,
            "/v1/subscriptions/other",
            json!({"topic": "orders", "retryPolicy": [null, null]}),
        )
        .await
        .problem(400, "INVALID_ARGUMENT");
    assert!(detail.contains("array"), "{detail}");
    tracing::info!("a body the document marks optional may be left out");
    app.send(Method::POST, "/v1/cluster:rebalance", &[], Vec::new())
        .await
        .ok();
    app.send(Method::POST, "/v1/subscriptions/work:pull", &[], Vec::new())
        .await
        .ok();
}

#[test_log::test(tokio::test)]
async fn a_malformed_idempotency_key_is_refused_even_without_deduplication() {
    let app = App::memory();
    app.json(
        Method::PUT,
        "/v1/topics/orders",
        json!({"dedupWindow": "0s", "maxMessageBytes": 1}),
    )
    .await
    .ok();
    let body = serde_json::to_vec(&json!({"messages": [{"data": "aGVsbG8="}]})).expect("json");
    tracing::info!("the key is checked before the body, whose size would be refused too");
    app.send(
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

#[test_log::test(tokio::test)]
async fn the_document_offers_the_ack_levels_of_the_storage() {
    let app = App::memory();
    let doc = app.get("/openapi.json").await;
    let pattern = &doc.ok()["components"]["schemas"]["CreateTopicRequest"]["properties"]["ackLevel"]
        ["pattern"];
    assert_eq!(
        pattern,
        &Value::from("^memory$"),
        "memory storage offers memory only"
    );
    app.json(
        Method::PUT,
        "/v1/topics/orders",
        json!({"ackLevel": "leader"}),
    )
    .await
    .problem(400, "INVALID_ARGUMENT");
}

#[test_log::test(tokio::test)]
async fn the_router_serves_every_verb_on_its_method_and_refuses_it_on_the_other() {
    let app = App::memory();
    let topic_verbs = TopicVerb::ALL
        .iter()
        .map(|v| (paths::topic_verb("orders", *v), v.method()));
    let subscription_verbs = SubscriptionVerb::ALL
        .iter()
        .map(|v| (paths::subscription_verb("audit", *v), v.method()));
    for (path, method) in topic_verbs.chain(subscription_verbs) {
        // Neither resource exists: reaching the verb's handler shows as its own
        // refusal (a missing resource, a bad body, no WebSocket upgrade).
        let reply = app.json(method.clone(), &path, json!({})).await;
        let code = reply.body["code"].as_str().unwrap_or_default();
        assert!(
            [
                "TOPIC_NOT_FOUND",
                "SUBSCRIPTION_NOT_FOUND",
                "INVALID_ARGUMENT"
            ]
            .contains(&code),
            "{method} {path} reaches its handler, got {reply:?}"
        );
        let other = if method == Method::GET {
            Method::POST
        } else {
            Method::GET
        };
        app.json(other, &path, json!({}))
            .await
            .problem(405, "METHOD_NOT_ALLOWED");
    }
}

#[test_log::test(tokio::test)]
async fn unknown_verbs_are_not_found_whatever_the_method() {
    let app = App::memory();
    for path in [
        "/v1/topics/orders:explode",
        "/v1/subscriptions/audit:explode",
    ] {
        let detail = app
            .json(Method::POST, path, json!({}))
            .await
            .problem(404, "NOT_FOUND");
        assert!(detail.contains("no :explode verb"), "{detail}");
        // No endpoint has the verb, so there is no method to allow: a 405
        // would need an `Allow` the document does not list.
        for method in [Method::GET, Method::DELETE] {
            let detail = app
                .send(method.clone(), path, &[], Vec::new())
                .await
                .problem(404, "NOT_FOUND");
            assert!(
                detail.contains(":explode verb"),
                "{method} {path}: {detail}"
            );
        }
    }
}

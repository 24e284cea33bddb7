//! The HTTP API against the real router: resources, limits, errors, idempotency,
//! compressed bodies, the API description, and every `:verb` on its method.

mod support;

use api::compression::Compression;
use api::paths;
use api::verbs::{SubscriptionVerb, TopicVerb, Verb};
use http::Method;
use serde_json::json;
use support::{app, b64, get, json, send, topic_with_subscription};

#[tokio::test]
async fn bad_requests_get_problem_json_and_lose_nothing() {
    let (app, _) = app();
    tracing::info!(
        "arrange: a topic with a small message limit and a subscription from the earliest"
    );
    json(
        &app,
        Method::PUT,
        "/v1/topics/orders",
        json!({"partitions": 2, "maxMessageBytes": 100}),
    )
    .await
    .ok();
    json(
        &app,
        Method::PUT,
        "/v1/subscriptions/audit",
        json!({"topic": "orders", "startPosition": "earliest"}),
    )
    .await
    .ok();
    let good = json!({"messages": [{"data": b64("before")}]});
    json(&app, Method::POST, "/v1/topics/orders:publish", good)
        .await
        .ok();

    tracing::info!("act: one bad request of each kind");
    let publish = "/v1/topics/orders:publish";
    let cases: Vec<(&str, support::Reply, u16, &str)> = vec![
        (
            "bad topic name",
            json(&app, Method::PUT, "/v1/topics/9lives", json!({})).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "zero partitions",
            json(
                &app,
                Method::PUT,
                "/v1/topics/zero",
                json!({"partitions": 0}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "oversized message",
            json(
                &app,
                Method::POST,
                publish,
                json!({"messages": [{"data": b64(&"x".repeat(101))}]}),
            )
            .await,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "bad base64",
            json(
                &app,
                Method::POST,
                publish,
                json!({"messages": [{"data": "%%%"}]}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown field",
            json(
                &app,
                Method::POST,
                publish,
                json!({"messages": [{"data": b64("x"), "colour": "red"}]}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "bad ack id",
            json(
                &app,
                Method::POST,
                "/v1/subscriptions/audit:acknowledge",
                json!({"ackIds": ["not-an-ack-id"]}),
            )
            .await,
            400,
            "INVALID_ACK_ID",
        ),
        (
            "ack id for a partition the topic lacks",
            json(
                &app,
                Method::POST,
                "/v1/subscriptions/audit:acknowledge",
                json!({"ackIds": ["7.0.1.1"]}),
            )
            .await,
            400,
            "INVALID_ACK_ID",
        ),
        (
            "unknown topic",
            json(
                &app,
                Method::POST,
                "/v1/topics/missing:publish",
                json!({"messages": [{"data": b64("x")}]}),
            )
            .await,
            404,
            "TOPIC_NOT_FOUND",
        ),
        (
            "batch too large",
            json(
                &app,
                Method::POST,
                publish,
                json!({"messages": vec![json!({"data": b64("x")}); 1001]}),
            )
            .await,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "unsupported content encoding",
            send(
                &app,
                Method::POST,
                publish,
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
            send(
                &app,
                Method::POST,
                publish,
                &[("content-encoding", "snappy")],
                b"\xff\xff\xff\xff".to_vec(),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "wrong content type",
            send(
                &app,
                Method::POST,
                publish,
                &[("content-type", "text/plain")],
                b"{}".to_vec(),
            )
            .await,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "malformed JSON",
            send(
                &app,
                Method::POST,
                publish,
                &[("content-type", "application/json")],
                b"{\"messages\": [".to_vec(),
            )
            .await,
            400,
            "MALFORMED_JSON",
        ),
        (
            "empty batch",
            json(&app, Method::POST, publish, json!({"messages": []})).await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "message without data or attributes",
            json(
                &app,
                Method::POST,
                publish,
                json!({"messages": [{"orderingKey": "k"}]}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "priority out of range",
            json(
                &app,
                Method::POST,
                publish,
                json!({"messages": [{"data": b64("x"), "priority": 10}]}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "subscription on a missing topic",
            json(
                &app,
                Method::PUT,
                "/v1/subscriptions/orphan",
                json!({"topic": "missing"}),
            )
            .await,
            404,
            "TOPIC_NOT_FOUND",
        ),
        (
            "ack deadline out of range",
            json(
                &app,
                Method::PUT,
                "/v1/subscriptions/fast",
                json!({"topic": "orders", "ackDeadlineSeconds": 5}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "topic exists",
            json(&app, Method::PUT, "/v1/topics/orders", json!({})).await,
            409,
            "ALREADY_EXISTS",
        ),
        (
            "unknown verb",
            json(&app, Method::POST, "/v1/topics/orders:explode", json!({})).await,
            404,
            "NOT_FOUND",
        ),
        (
            "verb on GET",
            get(&app, "/v1/topics/orders:publish").await,
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "unknown path",
            get(&app, "/v2/anything").await,
            404,
            "NOT_FOUND",
        ),
        (
            "pull of zero messages",
            json(
                &app,
                Method::POST,
                "/v1/subscriptions/audit:pull",
                json!({"maxMessages": 0}),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "bad page size",
            get(&app, "/v1/topics?pageSize=0").await,
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown query parameter",
            get(&app, "/v1/topics?size=3").await,
            400,
            "INVALID_ARGUMENT",
        ),
    ];

    tracing::info!("assert: each has its status and code, with a detail that helps");
    for (what, reply, status, code) in &cases {
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
    let unknown_field = &cases[4].1;
    assert!(
        unknown_field.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("colour")
    );

    tracing::info!("assert: the server still serves and holds exactly the two good messages");
    json(
        &app,
        Method::POST,
        publish,
        json!({"messages": [{"data": b64("after")}]}),
    )
    .await
    .ok();
    let pulled = json(
        &app,
        Method::POST,
        "/v1/subscriptions/audit:pull",
        json!({"maxMessages": 100}),
    )
    .await;
    let messages = pulled.ok()["receivedMessages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut data: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["message"]["data"].as_str())
        .collect();
    data.sort_unstable();
    assert_eq!(data, vec![b64("after"), b64("before")]);
}

#[tokio::test]
async fn topics_are_created_listed_in_pages_and_deleted_with_their_subscriptions() {
    let (app, _) = app();
    for i in 0..5 {
        json(
            &app,
            Method::PUT,
            &format!("/v1/topics/topic-{i}"),
            json!({"partitions": 3, "retention": {"maxAge": "3600s"}}),
        )
        .await
        .ok();
    }
    let mut names = Vec::new();
    let mut path = "/v1/topics?pageSize=2".to_owned();
    loop {
        let page = get(&app, &path).await;
        let body = page.ok().clone();
        names.extend(
            body["topics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["name"].as_str().map(str::to_owned)),
        );
        match body["nextPageToken"].as_str() {
            Some(token) => path = format!("/v1/topics?pageSize=2&pageToken={token}"),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("topic-{i}")).collect::<Vec<_>>()
    );

    let topic = get(&app, "/v1/topics/topic-1").await;
    let body = topic.ok();
    assert_eq!(body["partitions"], 3);
    assert_eq!(body["retention"]["maxAge"], "3600s");
    assert_eq!(
        body["stats"]["partitions"].as_array().map(Vec::len),
        Some(3)
    );

    json(
        &app,
        Method::PUT,
        "/v1/subscriptions/sub-1",
        json!({"topic": "topic-1"}),
    )
    .await
    .ok();
    send(&app, Method::DELETE, "/v1/topics/topic-1", &[], Vec::new())
        .await
        .ok();
    get(&app, "/v1/topics/topic-1")
        .await
        .problem(404, "TOPIC_NOT_FOUND");
    get(&app, "/v1/subscriptions/sub-1")
        .await
        .problem(404, "SUBSCRIPTION_NOT_FOUND");
    send(&app, Method::DELETE, "/v1/topics/topic-1", &[], Vec::new())
        .await
        .problem(404, "TOPIC_NOT_FOUND");
}

#[tokio::test]
async fn topic_stats_count_what_was_published_and_what_is_unacked() {
    let (app, _) = app();
    topic_with_subscription(&app, "stats", "stats-sub", json!({})).await;
    let batch = json!({"messages": [
        {"data": b64("abc"), "orderingKey": "k1"},
        {"data": b64("de"), "attributes": {"x": "y"}},
    ]});
    json(&app, Method::POST, "/v1/topics/stats:publish", batch)
        .await
        .ok();
    let stats = get(&app, "/v1/topics/stats").await.ok()["stats"].clone();
    assert_eq!(stats["messagesPublished"], 2);
    assert_eq!(stats["bytesPublished"], 3 + 2 + 2);
    let ends: u64 = stats["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["endOffset"].as_u64())
        .sum();
    assert_eq!(ends, 2);
    assert_eq!(
        stats["subscriptions"][0],
        json!({"name": "stats-sub", "backlogMessages": 2})
    );
}

#[tokio::test]
async fn idempotency_key_makes_retries_store_nothing_new() {
    let (app, _) = app();
    topic_with_subscription(&app, "payments", "ledger", json!({})).await;
    let body = serde_json::to_vec(
        &json!({"messages": [{"data": b64("pay 10")}, {"data": b64("pay 20")}]}),
    )
    .expect("json");
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", "req-42"),
    ];
    let first = send(
        &app,
        Method::POST,
        "/v1/topics/payments:publish",
        &headers,
        body.clone(),
    )
    .await;
    let retry = send(
        &app,
        Method::POST,
        "/v1/topics/payments:publish",
        &headers,
        body,
    )
    .await;
    assert_eq!(first.ok()["messageIds"], retry.ok()["messageIds"]);
    assert_eq!(first.body["deduplicated"], false);
    assert_eq!(retry.body["deduplicated"], true);
    let stats = get(&app, "/v1/topics/payments").await.ok()["stats"].clone();
    assert_eq!(stats["messagesPublished"], 2, "the retry stored nothing");

    let other = serde_json::to_vec(&json!({"messages": [{"data": b64("pay 30")}]})).expect("json");
    send(
        &app,
        Method::POST,
        "/v1/topics/payments:publish",
        &headers,
        other,
    )
    .await
    .problem(422, "IDEMPOTENCY_KEY_REUSED");
}

#[tokio::test]
async fn compressed_publish_bodies_are_accepted() {
    let (app, _) = app();
    topic_with_subscription(&app, "packed", "reader", json!({})).await;
    for (codec, text) in [
        (Compression::Snappy, "via snappy"),
        (Compression::Lz4, "via lz4"),
    ] {
        let body = serde_json::to_vec(&json!({"messages": [{"data": b64(text)}]})).expect("json");
        let packed = codec.compress(&body);
        let headers = [
            ("content-type", "application/json"),
            ("content-encoding", codec.header_value()),
        ];
        send(
            &app,
            Method::POST,
            "/v1/topics/packed:publish",
            &headers,
            packed,
        )
        .await
        .ok();
    }
    let pulled = json(
        &app,
        Method::POST,
        "/v1/subscriptions/reader:pull",
        json!({}),
    )
    .await;
    let mut data: Vec<String> = pulled.ok()["receivedMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["message"]["data"].as_str().map(str::to_owned))
        .collect();
    data.sort();
    assert_eq!(data, vec![b64("via lz4"), b64("via snappy")]);
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let (app, _) = app();
    assert_eq!(get(&app, "/healthz").await.ok()["status"], "ok");
    assert_eq!(get(&app, "/readyz").await.ok()["status"], "ok");
    let doc = get(&app, "/openapi.json").await;
    let paths = doc.ok()["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.contains_key("/v1/topics/{topic}:publish"));
    assert!(
        doc.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with('3'))
    );
}

#[tokio::test]
async fn the_router_serves_every_verb_on_its_method_and_refuses_it_on_the_other() {
    let (app, _) = app();
    let topic_verbs = TopicVerb::ALL
        .iter()
        .map(|v| (paths::topic_verb("orders", *v), v.method()));
    let subscription_verbs = SubscriptionVerb::ALL
        .iter()
        .map(|v| (paths::subscription_verb("audit", *v), v.method()));
    for (path, method) in topic_verbs.chain(subscription_verbs) {
        // Neither resource exists: reaching the verb's handler shows as its own
        // refusal (a missing resource, a bad body, no WebSocket upgrade).
        let reply = json(&app, method.clone(), &path, json!({})).await;
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
        json(&app, other, &path, json!({}))
            .await
            .problem(405, "METHOD_NOT_ALLOWED");
    }
}

#[tokio::test]
async fn unknown_verbs_are_not_found_on_post_and_not_allowed_on_get_and_delete() {
    let (app, _) = app();
    for path in [
        "/v1/topics/orders:explode",
        "/v1/subscriptions/audit:explode",
    ] {
        let detail = json(&app, Method::POST, path, json!({}))
            .await
            .problem(404, "NOT_FOUND");
        assert!(detail.contains("no :explode verb"), "{detail}");
        for method in [Method::GET, Method::DELETE] {
            send(&app, method, path, &[], Vec::new())
                .await
                .problem(405, "METHOD_NOT_ALLOWED");
        }
    }
}

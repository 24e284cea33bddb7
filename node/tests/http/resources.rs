//! The HTTP API's resources against the real router: topics listed in pages
//! and deleted with their subscriptions, stats, idempotency keys, compressed
//! bodies, health and the API description.

use api::compression::Compression;
use http::Method;
use serde_json::json;
use testkit::router::{App, b64};

#[test_log::test(tokio::test)]
async fn topics_are_created_listed_in_pages_and_deleted_with_their_subscriptions() {
    let app = App::memory();
    for i in 0..5 {
        app.put_topic(
            &format!("topic-{i}"),
            json!({"partitions": 3, "retention": {"maxAge": "3600s"}}),
        )
        .await
        .ok();
    }
    let mut names = Vec::new();
    let mut path = "/v1/topics?pageSize=2".to_owned();
    loop {
        let page = app.get(&path).await;
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

    let topic = app.get("/v1/topics/topic-1").await;
    let body = topic.ok();
    assert_eq!(body["partitions"], 3);
    assert_eq!(body["retention"]["maxAge"], "3600s");
    assert_eq!(
        body["stats"]["partitions"].as_array().map(Vec::len),
        Some(3)
    );

    app.put_subscription("sub-1", json!({"topic": "topic-1"}))
        .await
        .ok();
    app.delete("/v1/topics/topic-1").await.ok();
    app.get("/v1/topics/topic-1")
        .await
        .problem(404, "TOPIC_NOT_FOUND");
    app.get("/v1/subscriptions/sub-1")
        .await
        .problem(404, "SUBSCRIPTION_NOT_FOUND");
    app.delete("/v1/topics/topic-1")
        .await
        .problem(404, "TOPIC_NOT_FOUND");
}

#[test_log::test(tokio::test)]
async fn topic_stats_count_what_was_published_and_what_is_unacked() {
    let app = App::memory();
    app.topic_with_subscription("stats", "stats-sub", json!({}))
        .await;
    let batch = json!([
        {"data": b64("abc"), "orderingKey": "k1"},
        {"data": b64("de"), "attributes": {"x": "y"}},
    ]);
    app.publish("stats", batch).await.ok();
    let stats = app.get("/v1/topics/stats").await.ok()["stats"].clone();
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

#[test_log::test(tokio::test)]
async fn idempotency_key_makes_retries_store_nothing_new() {
    let app = App::memory();
    app.topic_with_subscription("payments", "ledger", json!({}))
        .await;
    let body = serde_json::to_vec(
        &json!({"messages": [{"data": b64("pay 10")}, {"data": b64("pay 20")}]}),
    )
    .expect("json");
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", "req-42"),
    ];
    let first = app
        .send(
            Method::POST,
            "/v1/topics/payments:publish",
            &headers,
            body.clone(),
        )
        .await;
    let retry = app
        .send(Method::POST, "/v1/topics/payments:publish", &headers, body)
        .await;
    assert_eq!(first.ok()["messageIds"], retry.ok()["messageIds"]);
    assert_eq!(first.body["deduplicated"], false);
    assert_eq!(retry.body["deduplicated"], true);
    let stats = app.get("/v1/topics/payments").await.ok()["stats"].clone();
    assert_eq!(stats["messagesPublished"], 2, "the retry stored nothing");

    let other = serde_json::to_vec(&json!({"messages": [{"data": b64("pay 30")}]})).expect("json");
    app.send(Method::POST, "/v1/topics/payments:publish", &headers, other)
        .await
        .problem(422, "IDEMPOTENCY_KEY_REUSED");
}

#[test_log::test(tokio::test)]
async fn compressed_publish_bodies_are_accepted() {
    let app = App::memory();
    app.topic_with_subscription("packed", "reader", json!({}))
        .await;
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
        app.send(Method::POST, "/v1/topics/packed:publish", &headers, packed)
            .await
            .ok();
    }
    let pulled = app.pull("reader", json!({})).await;
    let mut data: Vec<String> = pulled
        .iter()
        .filter_map(|m| m["message"]["data"].as_str().map(str::to_owned))
        .collect();
    data.sort();
    assert_eq!(data, vec![b64("via lz4"), b64("via snappy")]);
}

#[test_log::test(tokio::test)]
async fn health_and_openapi_are_served() {
    let app = App::memory();
    assert_eq!(app.get("/healthz").await.ok()["status"], "ok");
    assert_eq!(app.get("/readyz").await.ok()["status"], "ok");
    let doc = app.get("/openapi.json").await;
    let paths = doc.ok()["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.contains_key("/v1/topics/{topic}:publish"));
    assert!(
        doc.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with('3'))
    );
}

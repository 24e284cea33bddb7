//! Redis at `maxmemory` with `noeviction`: a publish it refuses (`OOM`) is a
//! definite failure, `507 INSUFFICIENT_STORAGE` with `Retry-After`, storing
//! nothing; `/readyz` stays ready; once Redis has room again, publishing
//! succeeds with no broker restart. Consumers keep draining what is stored.

use serde_json::json;
use testkit::redis::{RedisServer, broker_on, standalone_settings};
use testkit::router::{App, b64};

/// Redis's own memory is about 1 MiB; the filler takes it past this.
const MAXMEMORY: &str = "8mb";
/// 12,000 values of 1 KiB: well past the limit.
const FILL: &str = "EVAL \"for i = 1, 12000 do redis.call('SET', 'filler:' .. i, string.rep('x', 1024)) end return 1\" 0";
const FREE: &str = "EVAL \"for i = 1, 12000 do redis.call('DEL', 'filler:' .. i) end return 0\" 0";

fn used_memory(redis: &RedisServer) -> u64 {
    redis
        .command("INFO memory")
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

/// A Redis with `maxmemory` and `noeviction`, and a broker on it with topic
/// `orders` (one partition) and its subscription `billing` from the earliest.
async fn orders_on_a_bounded_redis() -> (RedisServer, App) {
    let redis =
        RedisServer::standalone(&["--maxmemory", MAXMEMORY, "--maxmemory-policy", "noeviction"]);
    let app = App::over(broker_on(&standalone_settings(redis.url())).await);
    app.put_topic("orders", json!({ "partitions": 1 }))
        .await
        .ok();
    app.put_subscription(
        "billing",
        json!({ "topic": "orders", "startPosition": "earliest" }),
    )
    .await
    .ok();
    (redis, app)
}

#[test_log::test(tokio::test)]
async fn a_full_redis_refuses_publishes_definitely_and_takes_them_again_once_it_has_room() {
    let (redis, app) = orders_on_a_bounded_redis().await;
    app.publish("orders", json!([{ "data": b64("before") }]))
        .await
        .ok();

    tracing::info!("arrange: other keys fill Redis past maxmemory");
    redis.command(FILL);
    assert!(
        used_memory(&redis) > 8 * 1024 * 1024,
        "Redis is over its limit"
    );

    tracing::info!("act: publish while Redis is full");
    let refused = app
        .publish("orders", json!([{ "data": b64("refused") }]))
        .await;

    tracing::info!("assert: 507, retryable, Retry-After; nothing stored; still ready");
    let detail = refused.problem(507, "INSUFFICIENT_STORAGE");
    assert!(detail.contains("OOM"), "{detail}");
    assert_eq!(refused.body["retryable"], true);
    assert!(refused.headers.contains_key("retry-after"));
    let stats = app.get("/v1/topics/orders").await;
    assert_eq!(
        stats.ok()["stats"]["partitions"][0]["endOffset"],
        1,
        "the refused publish stored nothing"
    );
    assert_eq!(
        app.get("/readyz").await.status,
        200,
        "a full Redis still answers"
    );
    let metrics = app.broker().metrics.encode();
    assert!(
        metrics.contains("pubsubgo_publishes_refused_total{reason=\"storage_full\"} 1"),
        "{metrics}"
    );

    tracing::info!("act: the other keys go; publish again with the same broker");
    redis.command(FREE);
    let accepted = app
        .publish("orders", json!([{ "data": b64("after") }]))
        .await;

    tracing::info!("assert: stored, and the subscription sees what was stored, nothing else");
    assert_eq!(accepted.ok()["offsets"], json!([1]));
    let pulled = app
        .pull("billing", json!({ "maxMessages": 10, "waitSeconds": 0 }))
        .await;
    let data: Vec<&str> = pulled
        .iter()
        .map(|m| m["message"]["data"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(data, [b64("before"), b64("after")]);
}

#[test_log::test(tokio::test)]
async fn a_full_redis_refuses_publishes_while_consumers_drain_what_is_stored() {
    let (redis, app) = orders_on_a_bounded_redis().await;
    app.publish(
        "orders",
        json!([{ "data": b64("a") }, { "data": b64("b") }]),
    )
    .await
    .ok();
    redis.command(FILL);
    app.publish("orders", json!([{ "data": b64("c") }]))
        .await
        .problem(507, "INSUFFICIENT_STORAGE");

    tracing::info!("act: pull and ack one at a time while Redis is full");
    let mut drained = Vec::new();
    loop {
        let got = app
            .pull("billing", json!({ "maxMessages": 1, "waitSeconds": 0 }))
            .await;
        let Some(message) = got.first() else { break };
        drained.push(
            message["message"]["data"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        app.ack("billing", &[message["ackId"].as_str().expect("ack id")])
            .await;
    }

    tracing::info!(
        "assert: both delivered once and acked (a lease writes nothing, an ack's write starts by deleting fields)"
    );
    assert_eq!(drained, [b64("a"), b64("b")]);
    redis.command(FREE);
    app.publish("orders", json!([{ "data": b64("c") }]))
        .await
        .ok();
    let rest = app
        .pull("billing", json!({ "maxMessages": 10, "waitSeconds": 0 }))
        .await;
    assert_eq!(rest.len(), 1, "only the message published after: {rest:?}");
    assert_eq!(rest[0]["message"]["data"], b64("c"));
}

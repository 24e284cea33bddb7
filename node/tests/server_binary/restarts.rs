//! Restarts: metadata survives a clean restart in the data directory; on
//! Redis a `kill -9` loses no message or ack, and leases only the dead
//! process held are delivered again at once, while a clean stop writes them.

use std::collections::BTreeSet;

use api::types::{CreateSubscriptionRequest, StartPosition};
use testkit::client::{keyed, publish, subscription, subscription_stats, text, topic};

use testkit::server_process::DataDir;

use crate::process::{LOCAL, start, start_on_redis};

/// The topic and the subscription; after a restart the metadata log restores
/// them, and storage keeps their messages and cursors.
async fn declare(api: &api::Client) {
    api.create_topic("orders", &topic(2)).await.expect("topic");
    let sub = CreateSubscriptionRequest {
        start_position: Some(StartPosition::Earliest),
        ..subscription("orders")
    };
    api.create_subscription("billing", &sub)
        .await
        .expect("subscription");
}

async fn pull(api: &api::Client, max: u32) -> Vec<api::types::ReceivedMessage> {
    let request = api::types::PullRequest {
        max_messages: Some(max),
        wait_seconds: Some(0),
        ..Default::default()
    };
    api.pull("billing", &request)
        .await
        .expect("pull")
        .received_messages
}

/// Pulls until nothing is left to deliver now.
async fn pull_until_empty(api: &api::Client) -> Vec<api::types::ReceivedMessage> {
    let mut all = Vec::new();
    loop {
        let got = pull(api, 1000).await;
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

fn data(messages: &[api::types::ReceivedMessage]) -> BTreeSet<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.message.data.0).into_owned())
        .collect()
}

#[test_log::test]
fn a_server_killed_with_sigkill_on_redis_keeps_messages_acks_and_written_leases() {
    let redis = testkit::redis::RedisServer::standalone(&["--appendonly", "yes"]);
    let prefix = testkit::redis::fresh_prefix();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let data_dir = DataDir::new("sigkill-on-redis");
    let (mut first, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    let (acked, written, unwritten) = runtime.block_on(async {
        declare(&api).await;
        for batch in 0..10 {
            let messages = (0..1000)
                .map(|i| keyed(&format!("m{}", batch * 1000 + i), &format!("k{i}")))
                .collect();
            let reply = publish(&api, "orders", messages).await.expect("publish");
            assert_eq!(reply.ack_level.to_string(), "leader");
        }
        let mut out = Vec::new();
        while out.len() < 500 {
            out.extend(pull(&api, 500 - out.len() as u32).await);
        }
        let ack_ids = out[..300].iter().map(|m| m.ack_id.clone()).collect();
        api.acknowledge("billing", ack_ids).await.expect("ack");
        // A deadline change is a cursor write: these 200 leases are in Redis.
        let extend = out[300..].iter().map(|m| m.ack_id.clone()).collect();
        api.modify_ack_deadline("billing", extend, 600)
            .await
            .expect("modifyAckDeadline");
        // An at-least-once lease alone writes nothing: these live in memory.
        let mut later = Vec::new();
        while later.len() < 200 {
            later.extend(pull(&api, 200 - later.len() as u32).await);
        }
        (data(&out[..300]), data(&out[300..]), data(&later))
    });
    first.child.kill().expect("kill -9");
    let status = first.child.wait().expect("reaped");
    assert!(!status.success(), "killed, not exited: {status:?}");

    let (_second, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    runtime.block_on(async {
        let topic = api.get_topic("orders").await.expect("topic");
        assert_eq!(topic.stats.map(|s| s.messages_published), Some(10_000));
        let stats = subscription_stats(&api, "billing").await;
        assert_eq!(
            (stats.backlog_messages, stats.outstanding_messages),
            (9_700, 200),
            "300 acks and the 200 written leases survived the crash"
        );
        let rest = pull_until_empty(&api).await;
        assert!(
            rest.iter().all(|m| m.delivery_attempt == 1),
            "a lease lost in the crash does not count as an attempt"
        );
        assert_eq!(rest.len(), 9_500, "no message delivered twice");
        let rest = data(&rest);
        assert_eq!(
            rest.len(),
            9_500,
            "every message not acked or leased in Redis, once"
        );
        assert!(rest.is_disjoint(&acked), "acked messages never come back");
        assert!(
            rest.is_disjoint(&written),
            "leases written to Redis wait for their deadline"
        );
        assert!(
            rest.is_superset(&unwritten),
            "leases only in the dead owner's memory are delivered again at once"
        );
    });
}

#[test_log::test]
fn a_clean_stop_on_redis_writes_the_leases_it_held() {
    let redis = testkit::redis::RedisServer::standalone(&[]);
    let prefix = testkit::redis::fresh_prefix();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let data_dir = DataDir::new("sigterm-on-redis");
    let (mut first, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    let leased = runtime.block_on(async {
        declare(&api).await;
        let messages = (0..100).map(|i| text(&format!("m{i}"))).collect();
        publish(&api, "orders", messages).await.expect("publish");
        let mut leased = Vec::new();
        while leased.len() < 30 {
            leased.extend(pull(&api, 30 - leased.len() as u32).await);
        }
        data(&leased)
    });
    assert!(first.terminate().success(), "SIGTERM ends it cleanly");

    let (_second, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    runtime.block_on(async {
        let stats = subscription_stats(&api, "billing").await;
        assert_eq!(
            (stats.backlog_messages, stats.outstanding_messages),
            (100, 30),
            "the 30 leases were written on the way out"
        );
        let rest = pull_until_empty(&api).await;
        assert_eq!(rest.len(), 70, "each message not leased, once");
        let rest = data(&rest);
        assert!(rest.is_disjoint(&leased), "leases wait for their deadline");
    });
}

#[test_log::test]
fn metadata_survives_a_restart_in_the_data_directory() {
    let data = DataDir::new("restart");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    tracing::info!("arrange: a topic and a subscription, then a clean stop");
    let mut first = start(&data, &LOCAL, &[]);
    let api = first.connect();
    runtime.block_on(async {
        api.create_topic("durable", &topic(3))
            .await
            .expect("create topic");
        api.create_subscription("keeper", &subscription("durable"))
            .await
            .expect("create subscription");
    });
    assert!(first.terminate().success());

    tracing::info!("act: start again on the same data directory");
    let second = start(&data, &LOCAL, &[]);
    let api = second.connect();
    runtime.block_on(async {
        assert_eq!(api.ready().await.expect("ready").status, "ok");
        let topic = api
            .get_topic("durable")
            .await
            .expect("the topic is still there");
        assert_eq!(topic.partitions, 3);
        let sub = api
            .get_subscription("keeper")
            .await
            .expect("the subscription is still there");
        assert_eq!(sub.topic, "durable");
        let err = api
            .create_topic("durable", &Default::default())
            .await
            .expect_err("exists");
        assert_eq!(
            err.problem().map(|p| p.code),
            Some(api::ErrorCode::AlreadyExists)
        );

        tracing::info!("assert: storage was restored, so publish and pull work at once");
        publish(&api, "durable", vec![text("after restart")])
            .await
            .expect("publish");
        let pull = api::types::PullRequest {
            max_messages: Some(10),
            wait_seconds: Some(5),
            ..Default::default()
        };
        let pulled = api.pull("keeper", &pull).await.expect("pull");
        assert_eq!(pulled.received_messages.len(), 1);
    });
}

//! The `pubsubgo-server` binary as a user runs it: settings from flags and
//! environment, serving until SIGTERM, then a clean exit; on Redis, surviving
//! a `kill -9`.

mod redis_support;
mod server_process;

use std::collections::BTreeSet;
use std::process::Command;

use server_process::{DataDir, Server, WAIT};

/// Starts the binary with JSON logs, a free peer port, `data_dir`, `args` and
/// `env`, clear of any `PUBSUB_*` port, config or data settings of the caller.
fn start(data_dir: &DataDir, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut command = Server::command();
    command
        .args(["--log-format", "json", "--peer-port", "0", "--data-dir"])
        .arg(&data_dir.0)
        .args(args)
        .env_remove("PUBSUB_SERVER_PORT")
        .env_remove("PUBSUB_METRICS_PORT")
        .env_remove("PUBSUB_METRICS_ENABLED")
        .env_remove("PUBSUB_CONFIG")
        .env_remove("PUBSUB_DATA_DIR")
        .env_remove("PUBSUB_PEER_PORT");
    for (key, value) in env {
        command.env(key, value);
    }
    Server::spawn(command)
}

#[test]
fn serves_with_env_and_flag_settings_and_stops_cleanly_on_sigterm() {
    // The env var is invalid, so the server can only start if the flag wins.
    let data = DataDir::new("env-and-flags");
    let mut server = start(
        &data,
        &["--port", "0", "--host", "127.0.0.1"],
        &[
            ("PUBSUB_SERVER_PORT", "not-a-port"),
            ("PUBSUB_METRICS_ENABLED", "false"),
        ],
    );
    let listening = server.wait_for_log("pubsubgo-server listening");
    assert_eq!(
        listening["metrics"], "None",
        "PUBSUB_METRICS_ENABLED=false was read"
    );
    let client = listening["client"]
        .as_str()
        .expect("client address")
        .to_owned();

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let api = api::Client::new(&format!("http://{client}"), WAIT).expect("client");
        assert_eq!(api.health().await.expect("healthz").status, "ok");
        api.create_topic("smoke", &Default::default())
            .await
            .expect("create topic");
    });

    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    server.wait_for_log("pubsubgo-server stopped");
}

/// Starts the binary on Redis and returns it with a client for its API.
fn start_on_redis(data: &DataDir, url: &str, prefix: &str) -> (Server, api::Client) {
    let server = start(
        data,
        &[
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--metrics-enabled",
            "false",
            "--storage",
            "redis",
            "--redis-url",
            url,
            "--redis-key-prefix",
            prefix,
        ],
        &[],
    );
    let listening = server.wait_for_log("pubsubgo-server listening");
    let client = listening["client"].as_str().expect("client address");
    let api = api::Client::new(&format!("http://{client}"), WAIT).expect("client");
    (server, api)
}

/// The topic and the subscription; after a restart the metadata log restores
/// them, and storage keeps their messages and cursors.
async fn declare(api: &api::Client) {
    let topic = api::types::CreateTopicRequest {
        partitions: Some(2),
        ..Default::default()
    };
    api.create_topic("orders", &topic).await.expect("topic");
    let sub = api::types::CreateSubscriptionRequest {
        topic: "orders".to_owned(),
        start_position: Some(api::types::StartPosition::Earliest),
        ..Default::default()
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

fn data(messages: &[api::types::ReceivedMessage]) -> BTreeSet<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.message.data.0).into_owned())
        .collect()
}

#[test]
fn a_server_killed_with_sigkill_on_redis_keeps_10_000_messages_acks_and_leases() {
    let redis = redis_support::RedisServer::standalone(&["--appendonly", "yes"]);
    let prefix = redis_support::fresh_prefix();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let data_dir = DataDir::new("sigkill-on-redis");
    let (mut first, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    let (acked, leased) = runtime.block_on(async {
        declare(&api).await;
        for batch in 0..10 {
            let request = api::types::PublishRequest {
                messages: (0..1000)
                    .map(|i| api::types::PublishMessage {
                        data: api::data::Data(format!("m{}", batch * 1000 + i).into_bytes().into()),
                        ordering_key: Some(format!("k{i}")),
                        ..Default::default()
                    })
                    .collect(),
            };
            let reply = api
                .publish("orders", &request, &Default::default())
                .await
                .expect("publish");
            assert_eq!(reply.ack_level.to_string(), "leader");
        }
        let mut out = Vec::new();
        while out.len() < 500 {
            out.extend(pull(&api, 500 - out.len() as u32).await);
        }
        let ack_ids = out[..300].iter().map(|m| m.ack_id.clone()).collect();
        api.acknowledge("billing", ack_ids).await.expect("ack");
        (data(&out[..300]), data(&out[300..]))
    });
    first.child.kill().expect("kill -9");
    let status = first.child.wait().expect("reaped");
    assert!(!status.success(), "killed, not exited: {status:?}");

    let (_second, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    runtime.block_on(async {
        let topic = api.get_topic("orders").await.expect("topic");
        assert_eq!(topic.stats.map(|s| s.messages_published), Some(10_000));
        let stats = api
            .get_subscription("billing")
            .await
            .expect("subscription")
            .stats
            .expect("stats");
        assert_eq!(
            (stats.backlog_messages, stats.outstanding_messages),
            (9_700, 200),
            "300 acks and 200 leases survived the crash"
        );
        let mut rest = Vec::new();
        loop {
            let got = pull(&api, 1000).await;
            if got.is_empty() {
                break;
            }
            rest.extend(got);
        }
        assert_eq!(rest.len(), 9_500, "no message delivered twice");
        let rest = data(&rest);
        assert_eq!(rest.len(), 9_500, "every never-delivered message, once");
        assert!(rest.is_disjoint(&acked), "acked messages never come back");
        assert!(
            rest.is_disjoint(&leased),
            "leased ones wait for their deadline"
        );
    });
}

#[test]
fn a_bad_setting_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_pubsubgo-server"))
        .args(["--storage", "redis", "--redis-url", "redis://127.0.0.1:1"])
        .args(["--redis-cluster-nodes", "127.0.0.1:2"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Redis URL or the Redis cluster nodes"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_redis_at_start_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_pubsubgo-server"))
        .args([
            "--port",
            "0",
            "--metrics-enabled",
            "false",
            "--storage",
            "redis",
        ])
        .args(["--redis-url", &format!("redis://127.0.0.1:{port}")])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect to Redis"), "{stderr}");
}

#[test]
fn metadata_survives_a_restart_in_the_data_directory() {
    let data = DataDir::new("restart");
    let args = [
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--metrics-enabled",
        "false",
    ];
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let connect = |server: &Server| {
        let listening = server.wait_for_log("pubsubgo-server listening");
        let client = listening["client"]
            .as_str()
            .expect("client address")
            .to_owned();
        api::Client::new(&format!("http://{client}"), WAIT).expect("client")
    };

    tracing::info!("arrange: a topic and a subscription, then a clean stop");
    let mut first = start(&data, &args, &[]);
    let api = connect(&first);
    runtime.block_on(async {
        let topic = api::types::CreateTopicRequest {
            partitions: Some(3),
            ..Default::default()
        };
        api.create_topic("durable", &topic)
            .await
            .expect("create topic");
        let sub = api::types::CreateSubscriptionRequest {
            topic: "durable".into(),
            ..Default::default()
        };
        api.create_subscription("keeper", &sub)
            .await
            .expect("create subscription");
    });
    assert!(first.terminate().success());

    tracing::info!("act: start again on the same data directory");
    let second = start(&data, &args, &[]);
    let api = connect(&second);
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
        let message = api::types::PublishMessage {
            data: "after restart".into(),
            ..Default::default()
        };
        let request = api::types::PublishRequest {
            messages: vec![message],
        };
        api.publish("durable", &request, &Default::default())
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

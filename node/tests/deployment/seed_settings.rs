//! The server as the seed's deployment notes start it: its environment block
//! (Redis settings, no `PUBSUB_STORAGE`), `-config config.yaml`, and the
//! container health check.

use std::process::Command;

use testkit::redis::{RedisServer, fresh_prefix};
use testkit::server_process::{DataDir, Server, WAIT};

/// The seed's environment block, pointed at a test Redis and free ports; keys
/// under `prefix`.
fn seed_environment(command: &mut Command, redis: &RedisServer, data: &DataDir, prefix: &str) {
    command
        .env_clear()
        .env("PUBSUB_SERVER_HOST", "127.0.0.1")
        .env("PUBSUB_SERVER_PORT", "0")
        .env("PUBSUB_PEER_PORT", "0")
        .env("PUBSUB_METRICS_PORT", "0")
        .env("PUBSUB_REDIS_HOST", "127.0.0.1")
        .env("PUBSUB_REDIS_PORT", redis.port.to_string())
        .env("PUBSUB_REDIS_PASSWORD", "seed-secret")
        .env("PUBSUB_REDIS_KEY_PREFIX", prefix)
        .env("PUBSUB_LOG_FORMAT", "json")
        .env("PUBSUB_DATA_DIR", &data.0);
}

async fn publish(api: &api::Client, text: &str) {
    let request = api::types::PublishRequest {
        messages: vec![api::types::PublishMessage {
            data: text.into(),
            ..Default::default()
        }],
    };
    let reply = api
        .publish("seed", &request, &Default::default())
        .await
        .expect("publish");
    assert_eq!(reply.ack_level.to_string(), "leader", "stored in Redis");
}

#[test_log::test]
fn the_seeds_environment_block_keeps_messages_in_redis_across_a_restart() {
    let redis = RedisServer::standalone(&["--appendonly", "yes"]);
    redis.command("CONFIG SET requirepass seed-secret");
    let data = DataDir::new("seed-environment");
    let prefix = fresh_prefix();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let start = |redis: &RedisServer| {
        let mut command = Server::command();
        seed_environment(&mut command, redis, &data, &prefix);
        let server = Server::spawn(command);
        let listening = server.wait_for_log("pubsubgo-server listening");
        assert_eq!(listening["storage"], "Redis", "Redis settings choose Redis");
        let client = listening["client"].as_str().expect("client").to_owned();
        let api = api::Client::new(&format!("http://{client}"), WAIT).expect("client");
        (server, api)
    };

    tracing::info!("arrange: the seed's settings, a topic, a subscription, two messages");
    let (mut first, api) = start(&redis);
    runtime.block_on(async {
        api.create_topic("seed", &Default::default())
            .await
            .expect("topic");
        let sub = api::types::CreateSubscriptionRequest {
            topic: "seed".to_owned(),
            start_position: Some(api::types::StartPosition::Earliest),
            ..Default::default()
        };
        api.create_subscription("seed-sub", &sub)
            .await
            .expect("subscription");
        publish(&api, "before restart 1").await;
        publish(&api, "before restart 2").await;
    });

    tracing::info!("act: stop and start again with the same settings");
    assert!(first.terminate().success());
    let (_second, api) = start(&redis);

    tracing::info!("assert: the messages were kept");
    runtime.block_on(async {
        let pull = api::types::PullRequest {
            max_messages: Some(10),
            wait_seconds: Some(5),
            ..Default::default()
        };
        let got = api.pull("seed-sub", &pull).await.expect("pull");
        let texts: Vec<String> = got
            .received_messages
            .iter()
            .map(|m| String::from_utf8_lossy(&m.message.data.0).into_owned())
            .collect();
        assert_eq!(texts, ["before restart 1", "before restart 2"]);
    });
}

#[test_log::test]
fn the_seeds_single_dash_config_flag_starts_the_server_and_healthcheck_reports_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "server: {{ host: 127.0.0.1, port: 0 }}\nmetrics: {{ enabled: false }}\n\
             log: {{ format: json }}\ncluster: {{ peer_port: 0, data_dir: {:?} }}\n",
            dir.path().join("data")
        ),
    )
    .expect("write config");
    let mut command = Server::command();
    command
        .current_dir(dir.path())
        .env_clear()
        .args(["-config", "config.yaml"]);
    let mut server = Server::spawn(command);
    let client = server.client_addr();
    let port = client.rsplit_once(':').expect("host:port").1.to_owned();

    let healthcheck = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pubsubgo-server"))
            .env_clear()
            .args(["--host", "127.0.0.1", "--port", &port, "healthcheck"])
            .args(extra)
            .output()
            .expect("healthcheck runs")
    };
    assert!(healthcheck(&[]).status.success(), "/healthz answers");
    assert!(
        healthcheck(&["--ready"]).status.success(),
        "/readyz answers"
    );

    assert!(server.terminate().success());
    let stopped = healthcheck(&[]);
    assert_eq!(stopped.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert!(stderr.contains("not healthy"), "{stderr}");
}

//! Settings as a user gives them: flags win over the environment, and a bad
//! setting or an unreachable Redis is a clear error at start.

use std::process::Command;

use testkit::server_process::{DataDir, WAIT};

use crate::process::start;

#[test_log::test]
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

#[test_log::test]
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

#[test_log::test]
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
            // Not the default 8082, which a server elsewhere on the machine may hold.
            "--peer-port",
            "0",
            "--grpc-port",
            "0",
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

//! The `pubsubgo-server` binary as a user runs it: settings from flags and
//! environment, serving until SIGTERM, then a clean exit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A running server process, killed on drop if still alive.
struct Server {
    child: Child,
    /// Log lines as JSON, read by a thread.
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pubsubgo-server"));
        command
            .args(["--log-format", "json"])
            .args(args)
            .env_remove("PUBSUB_SERVER_PORT")
            .env_remove("PUBSUB_METRICS_PORT")
            .env_remove("PUBSUB_METRICS_ENABLED")
            .env_remove("PUBSUB_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line)
                    && tx.send(value).is_err()
                {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits for the log line whose message is `message`.
    fn wait_for_log(&self, message: &str) -> serde_json::Value {
        loop {
            let line = self
                .lines
                .recv_timeout(WAIT)
                .expect("log line before timeout");
            if line["message"] == message {
                return line;
            }
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_with_env_and_flag_settings_and_stops_cleanly_on_sigterm() {
    // The env var is invalid, so the server can only start if the flag wins.
    let mut server = Server::start(
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

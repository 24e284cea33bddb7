//! The `pubsubgo-server` binary as a child process with JSON logs, on a data
//! directory of its own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Longest any test waits for the server.
pub const WAIT: Duration = Duration::from_secs(30);

/// Flags for a server on loopback ports the kernel hands out, without metrics.
pub const LOCAL: [&str; 6] = [
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--metrics-enabled",
    "false",
];

/// A running server process, killed on drop if still alive.
pub struct Server {
    pub child: Child,
    /// Log lines as JSON, read by a thread.
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Server {
    pub fn start(data_dir: &DataDir, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pubsubgo-server"));
        command
            .args(["--log-format", "json", "--peer-port", "0", "--data-dir"])
            .arg(&data_dir.0)
            .args(args)
            .env_remove("PUBSUB_SERVER_PORT")
            .env_remove("PUBSUB_METRICS_PORT")
            .env_remove("PUBSUB_METRICS_ENABLED")
            .env_remove("PUBSUB_CONFIG")
            .env_remove("PUBSUB_DATA_DIR")
            .env_remove("PUBSUB_PEER_PORT")
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
    pub fn wait_for_log(&self, message: &str) -> serde_json::Value {
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

    /// Waits until the server listens; answers a client of its API.
    pub fn connect(&self) -> api::Client {
        let listening = self.wait_for_log("pubsubgo-server listening");
        let client = listening["client"].as_str().expect("client address");
        api::Client::new(&format!("http://{client}"), WAIT).expect("client")
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("server exits")
    }
}

/// A fresh data directory, removed on drop.
pub struct DataDir(std::path::PathBuf);

impl DataDir {
    pub fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("pubsubgo-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

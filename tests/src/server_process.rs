//! `pubsubgo-server` processes for the node's tests that run the binary as
//! users do: the JSON log lines of each are read by a thread, so a test waits
//! for a line instead of sleeping; a process still alive when dropped is
//! killed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for a log line, and its client for an answer.
pub const WAIT: Duration = Duration::from_secs(30);

/// Where cargo says the server binary is: it sets this variable when it
/// builds and runs the node package's integration tests.
const BINARY: &str = "CARGO_BIN_EXE_pubsubgo-server";

/// Flags for a server on loopback ports the kernel hands out, without metrics.
pub const LOCAL: [&str; 6] = [
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--metrics-enabled",
    "false",
];

/// The caller's settings that would change where a test's server listens,
/// what it loads, or whether it asks for credentials.
pub const CALLERS_SETTINGS: [&str; 9] = [
    "PUBSUB_SERVER_PORT",
    "PUBSUB_METRICS_PORT",
    "PUBSUB_METRICS_ENABLED",
    "PUBSUB_CONFIG",
    "PUBSUB_DATA_DIR",
    "PUBSUB_PEER_PORT",
    "PUBSUB_AUTH_ENABLED",
    "PUBSUB_TLS_CERT_FILE",
    "PUBSUB_TLS_KEY_FILE",
];

/// A running server process, killed on drop if still alive.
#[derive(Debug)]
pub struct Server {
    pub child: Child,
    /// Log lines as JSON, read by a thread.
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Server {
    /// The server binary, to be given arguments and environment (the gRPC
    /// listener, when on, on a free port).
    pub fn command() -> Command {
        let mut command = Self::bare_command();
        // Many servers run at once and the gRPC listener's default port is
        // fixed (8085): a flag, not an environment variable, so that tests
        // clearing the environment keep it.
        command.args(["--grpc-port", "0"]);
        command
    }

    /// The server binary with no arguments: for a process alone in its own
    /// network namespace, which may open the default ports.
    pub fn bare_command() -> Command {
        let binary = std::env::var_os(BINARY)
            .unwrap_or_else(|| panic!("{BINARY} is set by cargo for node's integration tests"));
        Command::new(binary)
    }

    /// Starts the binary as the node's tests run it: JSON logs, a free peer
    /// port, `data_dir`, none of the caller's [`CALLERS_SETTINGS`], then
    /// `args` (add [`LOCAL`] for loopback ports) and `env`.
    pub fn start_in(data_dir: &DataDir, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Self::command();
        command
            .args(["--log-format", "json", "--peer-port", "0", "--data-dir"])
            .arg(&data_dir.0)
            .args(args);
        for variable in CALLERS_SETTINGS {
            command.env_remove(variable);
        }
        command.envs(env.iter().copied());
        Self::spawn(command)
    }

    /// The binary as node `id` of the cluster on `peers` (`id=host:port,…`):
    /// peers on `peer_port`, clients on a free loopback port, data under
    /// `data_dir/<id>`, JSON logs, no metrics, none of the caller's
    /// environment. The caller adds its own settings and spawns it.
    pub fn cluster_node(id: u64, peer_port: u16, peers: &str, data_dir: &DataDir) -> Command {
        let mut command = Self::command();
        command
            .env_clear()
            .env("PUBSUB_SERVER_HOST", "127.0.0.1")
            .env("PUBSUB_SERVER_PORT", "0")
            .env("PUBSUB_METRICS_ENABLED", "false")
            .env("PUBSUB_PEER_PORT", peer_port.to_string())
            .env("PUBSUB_PEERS", peers)
            .env("PUBSUB_NODE_ID", id.to_string())
            .env("PUBSUB_DATA_DIR", data_dir.0.join(id.to_string()))
            .env("PUBSUB_LOG_FORMAT", "json");
        command
    }

    /// Starts `command` (which must log JSON to stdout, `--log-format json` or
    /// `PUBSUB_LOG_FORMAT=json`); stderr goes to the test's.
    pub fn spawn(mut command: Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
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
                .unwrap_or_else(|_| panic!("log line {message:?} before timeout"));
            if line["message"] == message {
                return line;
            }
        }
    }

    /// The client address from the "pubsubgo-server listening" line.
    pub fn client_addr(&self) -> String {
        let listening = self.wait_for_log("pubsubgo-server listening");
        listening["client"]
            .as_str()
            .expect("client address")
            .to_owned()
    }

    /// Waits until the server listens; answers a client of its API.
    pub fn connect(&self) -> api::Client {
        api::Client::new(&format!("http://{}", self.client_addr()), WAIT).expect("client")
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
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

/// A fresh data directory, removed on drop.
#[derive(Debug)]
pub struct DataDir(pub PathBuf);

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

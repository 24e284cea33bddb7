//! The binary as these tests start it: JSON logs, loopback ports the kernel
//! hands out, no metrics port, and none of the caller's `PUBSUB_*` settings
//! that would change where it listens.

use std::time::Duration;

use api::{Client, ClientOptions};
use testkit::server_process::{DataDir, Server};

/// How long a client waits for an answer.
pub const WAIT: Duration = Duration::from_secs(30);

/// Starts the binary on `data_dir` with `args`.
pub fn start(data_dir: &DataDir, args: &[&str]) -> Server {
    start_env(data_dir, args, &[])
}

/// Like [`start`], with `env` set too.
pub fn start_env(data_dir: &DataDir, args: &[&str], env: &[(&str, String)]) -> Server {
    let mut command = Server::command();
    command
        .args(["--log-format", "json", "--peer-port", "0", "--data-dir"])
        .arg(&data_dir.0)
        .args([
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--metrics-enabled",
            "false",
        ])
        .args(args);
    for variable in [
        "PUBSUB_SERVER_PORT",
        "PUBSUB_METRICS_PORT",
        "PUBSUB_METRICS_ENABLED",
        "PUBSUB_CONFIG",
        "PUBSUB_DATA_DIR",
        "PUBSUB_PEER_PORT",
        "PUBSUB_AUTH_ENABLED",
        "PUBSUB_TLS_CERT_FILE",
        "PUBSUB_TLS_KEY_FILE",
    ] {
        command.env_remove(variable);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    Server::spawn(command)
}

/// A client of `base` sending `token`.
pub fn client_with_token(base: &str, token: Option<&str>) -> Client {
    let options = ClientOptions {
        token: token.map(str::to_owned),
        ..ClientOptions::new(WAIT)
    };
    Client::with_options(base, &options).expect("client")
}

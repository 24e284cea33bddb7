//! The binary started as these tests start it: JSON logs, a free peer port,
//! a data directory of its own, and none of the caller's `PUBSUB_*` port,
//! config or data settings.

use testkit::server_process::{DataDir, Server};

/// Flags for a server on loopback ports the kernel hands out, without metrics.
pub const LOCAL: [&str; 6] = [
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--metrics-enabled",
    "false",
];

/// Starts the binary on `data_dir` with `args` and `env`.
pub fn start(data_dir: &DataDir, args: &[&str], env: &[(&str, &str)]) -> Server {
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

/// Resident memory of `pid`, from `/proc/<pid>/status`.
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

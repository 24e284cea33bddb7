//! The binary started as these tests start it (`Server::start_in`), and what
//! they read of a running process.

use testkit::server_process::{DataDir, Server};

pub use testkit::server_process::LOCAL;

/// Starts the binary on `data_dir` with `args` and `env`.
pub fn start(data_dir: &DataDir, args: &[&str], env: &[(&str, &str)]) -> Server {
    Server::start_in(data_dir, args, env)
}

/// Starts the binary on Redis (`url`, keys under `prefix`) with loopback
/// ports and returns it with a client for its API.
pub fn start_on_redis(data: &DataDir, url: &str, prefix: &str) -> (Server, api::Client) {
    let on_redis = [
        "--storage",
        "redis",
        "--redis-url",
        url,
        "--redis-key-prefix",
        prefix,
    ];
    let server = start(data, &[&LOCAL[..], &on_redis].concat(), &[]);
    let api = server.connect();
    (server, api)
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

//! The binary started as these tests start it (`Server::start_in`), and what
//! they read of a running process.

use testkit::server_process::{DataDir, Server};

pub use testkit::server_process::LOCAL;

/// Starts the binary on `data_dir` with `args` and `env`.
pub fn start(data_dir: &DataDir, args: &[&str], env: &[(&str, &str)]) -> Server {
    Server::start_in(data_dir, args, env)
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

//! What the workspace's integration tests share, the multi-node scenarios
//! (`tests/cluster/`), and the checks that hold the docs to the code
//! (`tests/docs/`).
//!
//! # Modules
//! - [`router`]: a node's real router driven in-process ([`router::App`]), with
//!   builders for the API calls tests make and [`router::Reply`] to check answers.
//! - [`certs`]: a throwaway CA and server certificates (rcgen) for TLS tests.
//! - [`client`]: builders for tests that talk to a running node through
//!   [`api::Client`]: topics, subscriptions, messages, publish, drain, metrics.
//! - [`storage`]: builders for tests that drive a storage backend directly.
//! - [`redis`]: real `redis-server` processes and clusters, shared per test
//!   binary or dedicated to one test.
//! - [`server_process`]: the `pubsubgo-server` binary as a child process that
//!   node's tests wait on by its JSON log lines, and its data directory.
//! - [`cluster`]: [`TestCluster`], N in-process nodes (Raft over their peer
//!   ports, routed storage, the client API) on loopback ports that tests kill,
//!   restart and add, on memory or on one shared Redis; optionally with every
//!   peer call through a [`fault_proxy::FaultProxy`], to cut one node off.
//! - [`fault_proxy`]: a TCP proxy that refuses or swallows connections, for
//!   every client or from chosen source addresses.
//!
//! Tests wait on conditions with deadlines ([`wait_for`]), never on fixed sleeps.
//! Each test states its phases with `tracing::info!`; test binaries run every
//! test under `#[test_log::test]`, which installs a subscriber libtest
//! captures, so a failing test prints them. Its default filter, `RUST_LOG`
//! from `.cargo/config.toml`, keeps openraft to errors.
//!
//! Node's tests depend on this crate as a dev-dependency (a dev-dependency
//! cycle, as `tokio` has with `tokio-test`), so that the helpers the node's
//! test binaries and the scenarios share live in one place.

pub mod certs;
pub mod client;
pub mod cluster;
pub mod fault_proxy;
pub mod redis;
pub mod router;
pub mod server_process;
pub mod storage;

pub use cluster::{AutoRebalance, Storage, TestCluster, wait_for};
pub use fault_proxy::{Fault, FaultProxy};

//! Multi-node scenarios for PubSubGo, in one process: each node is a real
//! [`node::instance::Instance`] (Raft over its peer port, routed storage, the
//! client API) on loopback ports the kernel hands out; nodes are killed
//! (stopped at once, no hand-over), restarted on their data directory and
//! peer address, and added. Tests wait on conditions with deadlines, never on
//! fixed sleeps.
//!
//! Message storage is a real `redis-server` started by the tests (shared by
//! the nodes of one cluster under one key prefix), or per-node memory.

pub mod cluster;
#[path = "../../node/tests/redis_support/mod.rs"]
mod redis_support;

pub use cluster::{Storage, TestCluster, wait_for};

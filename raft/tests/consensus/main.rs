//! The consensus crate's stories: a Raft group of in-process nodes on loopback
//! ports, and openraft's storage suite on the redb store. Every wait is on a
//! condition (metrics, a read, or a polled value with a deadline), never a
//! fixed sleep; tests run under `#[test_log::test]`, so a failing one prints
//! its phases (openraft's own logs only at `error`, see `.cargo/config.toml`;
//! `RUST_LOG=info` shows them all).
//!
//! - [`harness`]: the test cluster: start, stop, crash, restart, wipe.
//! - [`formation`], [`membership`], [`leadership`], [`proposals`],
//!   [`recovery`], [`failover`]: how the group forms, changes and survives.
//! - [`lost_disk`]: a node with an empty log does not vote in an established group.
//! - [`routes`]: the peer routes mounted beside other routes.
//! - [`log_store`]: openraft's conformance suite for the log store.
//! - [`format`]: a data dir and encodings the current release wrote load.

mod harness;

mod failover;
mod format;
mod formation;
mod leadership;
mod log_store;
mod lost_disk;
mod membership;
mod proposals;
mod recovery;
mod routes;

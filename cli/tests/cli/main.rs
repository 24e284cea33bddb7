//! The real `pubsub-cli` binary against a real in-process broker (`node::TestNode`).
//!
//! Each test starts its own broker on ephemeral ports, runs the binary as a child
//! process with `--server` pointing at it, and checks exit code, stdout and stderr.
//! Children run under `tokio::process`, so the broker keeps serving on the test's
//! runtime while a child waits for it.
//!
//! - [`support`]: running the binary and reading what it printed.
//! - [`basics`]: topics, subscriptions, publish, pull, ack, subscribe, errors.
//! - [`delivery`]: nack reasons, dead letters and redrive, seek, delayed publishes.
//! - [`groups`]: consumer groups: join, leave, lost sessions, pulls as a member.
//! - [`security`]: `--ca-file` and `--token` against a broker with TLS and auth on.
//! - [`cluster`]: `cluster status|rebalance|remove-node`.
//! - [`bench`]: `bench` accounts for every message and spreads over `--servers`.

mod basics;
mod bench;
mod cluster;
mod delivery;
mod groups;
mod security;
mod support;

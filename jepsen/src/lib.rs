//! PubSubGo's chaos harness, `jepsen/run`: real `pubsubgo-server` processes
//! and Redis, each in its own network namespace, driven by client workers
//! while a seeded nemesis injects faults; the history they record is checked
//! afterwards.
//!
//! Modules, in the order a run uses them:
//!
//! - `sandbox`: the re-execution under `unshare` (pid, mount and network
//!   namespaces) that makes any exit leave nothing behind.
//! - `net`: the bridge, a namespace per host, faults as nftables rules.
//! - `procs`: `redis-server` and the `pubsubgo-server` nodes, their logs;
//!   `redis_cluster`: the Redis Cluster (3 primaries, 3 replicas) of the
//!   `redis-failover` scenario, and its failover.
//! - `scenario`: the scenarios and the seeded nemesis schedule.
//! - `nemesis`: applies and undoes the faults, records them; `membership`
//!   runs the scale-out and scale-in cycles, observing the cluster through
//!   `observer` (each view a `cluster_view`).
//! - `recorder`, `workload`, `consumer`, `register`: the client workers
//!   (`register` churns topics of a few names, the metadata registers) and
//!   the history they record (`history`).
//! - `run`: the phases of a run and its output files.
//! - `checkers`: the properties checked over a history, one file each.
//! - `plot`: the SVG of a run.
//! - `suite`: the CI selection, the test-only breaks, the summary table.
//!
//! How a run goes and why it is built this way: `docs/chaos.md`.

pub mod checkers;
pub mod cluster_view;
pub mod consumer;
pub mod failover;
pub mod history;
pub mod membership;
pub mod nemesis;
pub mod net;
pub mod observer;
pub mod plot;
pub mod procs;
pub mod recorder;
pub mod redis_cluster;
pub mod register;
pub mod run;
pub mod sandbox;
pub mod scenario;
pub mod suite;
pub mod workload;

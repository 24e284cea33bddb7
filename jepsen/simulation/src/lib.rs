//! A deterministic simulation of PubSubGo's metadata group (openraft with
//! the `raft` crate's commands and replies), partition placement with epochs
//! (`cluster`), and routed writes fenced by epoch, under crashes, restarts,
//! partitions and message loss. Each seed drives one run; every invariant is
//! checked after every step; the test (`tests/simulation.rs`) runs many
//! seeds and prints a failing one with how to replay it (docs/chaos.md).
//!
//! ```sh
//! cargo test -p pubsubgo-simulation --test simulation                       # 1,000 seeds
//! SIM_SEED=123 cargo test -p pubsubgo-simulation --test simulation seeds    # replay one
//! SIM_SEEDS=100000 SIM_SEED_START=5000 cargo test --release -p pubsubgo-simulation --test simulation seeds  # soak
//! ```
//!
//! - [`driver`]: one run: bootstrap, steps, heal, final checks ([`driver::run`]).
//! - [`actions`]: the seeded choice of each step's action.
//! - [`world`]: the cluster: nodes, proposals, routed writes, claims.
//! - [`network`]: delivery with seeded latency, loss and partitions.
//! - [`store`]: the in-memory Raft log ("disk") and metadata state machine.
//! - [`partition_store`]: partition storage with the epoch fence.
//! - [`invariants`]: the checker (its table lists each invariant and break).
//! - [`breaks`]: the test-only breaks; [`trace`]: the per-step trace.
//! - [`types`]: the openraft configuration on [`runtime::SimRuntime`],
//!   Tokio with its random numbers and its watch channels' wake order
//!   ([`watch`]) taken from the seed.

pub mod actions;
pub mod breaks;
pub mod driver;
pub mod invariants;
pub mod network;
pub mod partition_store;
pub mod runtime;
pub mod store;
pub mod trace;
pub mod types;
pub mod watch;
pub mod world;

pub use driver::{Failure, Report, Settings};

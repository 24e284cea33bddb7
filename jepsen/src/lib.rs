//! PubSubGo's chaos harness, `jepsen/run`: real `pubsubgo-server` processes
//! and Redis, each in its own network namespace, driven by client workers
//! while a seeded nemesis injects faults; the history they record is checked
//! afterwards.
//!
//! Modules, in the order a run uses them:
//!
//! - `history`: the events of a run (`history.jsonl`).
//! - `checkers`: the properties checked over a history, one file each.
//!
//! How a run goes and why it is built this way: `docs/chaos.md`.

pub mod checkers;
pub mod history;

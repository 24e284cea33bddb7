//! The measuring kit shared by `pubsub-cli bench` and the comparison harness in
//! `cli/bench/compare`, so every broker is measured and reported the same way.
//!
//! Pure: no I/O, no clock. Callers read the clock and hand in durations.
//!
//! # Modules
//! - [`payload`]: each message carries a [`Stamp`] (producer, sequence number, send
//!   time) in its first bytes, then filler up to the requested size.
//! - [`ledger`]: consumers record every stamp they receive; the ledger tells what was
//!   lost and what arrived twice.
//! - [`latency`]: an HDR histogram of latencies and its p50/p95/p99/max summary.
//! - [`report`]: the result of one run ([`Report`]): workload, throughput, latency and
//!   verification, as JSON (`--format json`) or as a table for people.
//!
//! A run goes: producers [`payload::encode`] stamps → the broker → consumers
//! [`payload::decode`] and [`Ledger::record`], latencies into [`Latency`] → a
//! [`Report`] built from the counts, elapsed times and histograms.

pub mod latency;
pub mod ledger;
pub mod payload;
pub mod report;

pub use latency::{Latency, LatencySummary};
pub use ledger::{Ledger, Verification};
pub use payload::{PayloadError, Stamp};
pub use report::{Report, Throughput, Workload};

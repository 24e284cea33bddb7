//! A log-bucket histogram with the API openraft 0.10.0-alpha.37 uses from the
//! `base2histogram` crate, in its place through `[patch.crates-io]` (see
//! `Cargo.toml` beside this for why).
//!
//! # Modules
//! - [`histogram`]: [`Histogram`]: 252 buckets, four per power of two (the real
//!   crate's default width 3), each bucket's bounds computed from its index.
//! - [`percentile_stats`]: [`PercentileStats`], the percentiles openraft shows.
//! - [`ascii_chart`]: [`AsciiChart`], several histograms' percentiles side by side.
//!
//! openraft records batch sizes and stage latencies here on its hot path; it reads
//! them only through `Raft::runtime_stats`, under its `runtime-stats` feature, which
//! PubSubGo does not enable. So what matters is that recording is cheap and the
//! memory small (2 KiB of counters per histogram); the percentiles are still exact to
//! the bucket, interpolated uniformly inside it.

pub mod ascii_chart;
pub mod histogram;
pub mod percentile_stats;

pub use ascii_chart::AsciiChart;
pub use histogram::Histogram;
pub use percentile_stats::PercentileStats;

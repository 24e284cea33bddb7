//! Metrics and logs.
//!
//! - [`metrics`]: every metric the broker exports, defined in one place.
//! - [`logging`]: the `tracing` subscriber (text or JSON).
//! - [`connections`]: a listener wrapper that counts open client connections.
//! - [`overload`]: the memory bound's, refused publishes' and slow consumers' metrics.

pub mod connections;
pub mod logging;
pub mod metrics;
pub mod overload;

pub use metrics::Metrics;

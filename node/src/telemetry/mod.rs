//! Metrics and logs.
//!
//! - [`metrics`]: every metric the broker exports, defined in one place.
//! - [`logging`]: the `tracing` subscriber (text or JSON); [`log_fields`]:
//!   which span fields its lines write.
//! - [`connections`]: a listener wrapper that counts open client connections.
//! - [`overload`]: the memory bound's, refused publishes' and slow consumers' metrics.
//! - [`traces`]: OpenTelemetry span export over OTLP/HTTP through a bounded
//!   queue; [`trace_metrics`]: what became of the spans; [`sampling`]: which
//!   spans reach OpenTelemetry, decided before they are built.
//! - [`process`]: CPU, memory, file descriptors and start time from `/proc/self`.
//! - [`raft_metrics`]: leadership, applied index, contact, proposals, node states.
//! - [`redis_metrics`]: Redis round trips: latency, failures, whether it answers.
//! - [`routing_metrics`]: calls between nodes, and storage sync's work.
//! - [`http_metrics`]: client API requests by route, method and status class.
//! - [`websocket_metrics`]: WebSocket sessions and frames.
//! - [`messaging`]: the broker's spans, after the OpenTelemetry messaging conventions.
//! - [`context`]: W3C trace context in and out of headers and message attributes.

pub mod connections;
pub mod context;
pub mod http_metrics;
pub mod log_fields;
pub mod logging;
pub mod messaging;
pub mod metrics;
pub mod overload;
pub mod process;
pub mod raft_metrics;
pub mod redis_metrics;
pub mod routing_metrics;
pub mod sampling;
pub mod trace_metrics;
pub mod traces;
pub mod websocket_metrics;

pub use metrics::Metrics;

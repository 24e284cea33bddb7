//! [`RedisMetrics`]: the Redis connection as the broker sees it, one
//! observation per round trip (a command, a script or a pipeline).
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_redis_up` | gauge, `node` | per configured Redis node (`host:port`: the standalone server, or each listed Cluster node): 1 when it answered its last `PING`, sent every 2 s by `storage::redis::probe` |
//! | `pubsubgo_redis_command_duration_seconds` | histogram, `operation` | one round trip, by command (`EVALSHA` for a script, `PIPELINE`) |
//! | `pubsubgo_redis_errors_total` | counter, `kind` | failed round trips: `timeout`, `refused`, `io`, `oom`, `server` (an error reply), `other` |

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use redis::RedisError;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabel {
    pub node: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    pub operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorKindLabel {
    pub kind: &'static str,
}

/// Handles on the Redis metrics; [`RedisMetrics::default`] ones are
/// registered nowhere (storage built for a test).
#[derive(Debug, Clone)]
pub struct RedisMetrics {
    pub up: Family<NodeLabel, Gauge>,
    pub duration: Family<OperationLabel, Histogram>,
    pub errors: Family<ErrorKindLabel, Counter>,
}

impl Default for RedisMetrics {
    fn default() -> Self {
        Self {
            up: Family::default(),
            // 0.1 ms to ~3 s.
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 16))
            }),
            errors: Family::default(),
        }
    }
}

impl RedisMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        // Every kind from the start, at 0, so `rate()` has a series to read.
        for kind in ["timeout", "refused", "io", "oom", "server", "other"] {
            metrics
                .errors
                .get_or_create(&ErrorKindLabel { kind })
                .inc_by(0);
        }
        registry.register(
            "pubsubgo_redis_up",
            "1 while the Redis node answers its probe",
            metrics.up.clone(),
        );
        registry.register(
            "pubsubgo_redis_command_duration_seconds",
            "Redis round trips by command",
            metrics.duration.clone(),
        );
        registry.register(
            "pubsubgo_redis_errors",
            "Failed Redis round trips by kind",
            metrics.errors.clone(),
        );
        metrics
    }

    /// Records one round trip running `operation`.
    pub fn round_trip<T>(&self, operation: &str, took: Duration, result: &Result<T, RedisError>) {
        self.duration
            .get_or_create(&OperationLabel {
                operation: operation.to_owned(),
            })
            .observe(took.as_secs_f64());
        if let Err(error) = result {
            let kind = error_kind(error);
            self.errors.get_or_create(&ErrorKindLabel { kind }).inc();
        }
    }

    /// Sets whether `node` answers.
    pub fn set_up(&self, node: &str, up: bool) {
        self.up
            .get_or_create(&NodeLabel {
                node: node.to_owned(),
            })
            .set(i64::from(up));
    }
}

fn error_kind(error: &RedisError) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connection_refusal() {
        "refused"
    } else if error.is_io_error() || error.is_connection_dropped() {
        "io"
    } else if error.code() == Some("OOM") {
        "oom"
    } else if error.code().is_some() {
        "server"
    } else {
        "other"
    }
}

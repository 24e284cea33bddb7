//! [`OverloadSettings`]: the node's memory bound, its alarm watermarks, and
//! how long a stream may block on a client that does not read.
//!
//! ```yaml
//! memory:
//!   limit_bytes: 1073741824   # default: half the container's or machine's memory
//!   high_watermark: 0.9       # alarm raised at 90% of the limit
//!   low_watermark: 0.8        # alarm cleared below 80%; acked messages released from here
//! streams:
//!   write_timeout_seconds: 10
//! ```

use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use super::error::ConfigError;
use crate::overload::DEFAULT_STREAM_WRITE_TIMEOUT;
use crate::overload::budget::MemoryLimits;
use crate::overload::machine::machine_memory_bytes;

/// The share of the container's (or machine's) memory the node's accounted
/// memory may use when no limit is set. The rest is room for what is not
/// accounted: the binary, allocator slack and fragmentation, the kernel's
/// socket buffers, and any other process beside the broker.
pub const DEFAULT_MEMORY_SHARE: f64 = 0.5;
/// Alarm at this share of the limit.
pub const DEFAULT_HIGH_WATERMARK: f64 = 0.9;
/// Alarm cleared below this share of the limit.
pub const DEFAULT_LOW_WATERMARK: f64 = 0.8;

/// The resolved overload settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverloadSettings {
    pub memory: MemoryLimits,
    /// A stream whose client takes no frame for this long is closed (1008).
    pub stream_write_timeout: Duration,
}

/// The overload flags, each with its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct OverloadArgs {
    /// Most memory the broker accounts for (stored messages on memory
    /// storage, buffered frames, idempotency keys, request bodies) [default:
    /// half of the cgroup's memory.max, else of MemTotal].
    #[arg(long, env = "PUBSUB_MEMORY_LIMIT_BYTES")]
    pub memory_limit_bytes: Option<u64>,
    /// Share of the limit at which publishes are refused [default: 0.9].
    #[arg(long, env = "PUBSUB_MEMORY_HIGH_WATERMARK")]
    pub memory_high_watermark: Option<f64>,
    /// Share of the limit below which publishes are accepted again [default: 0.8].
    #[arg(long, env = "PUBSUB_MEMORY_LOW_WATERMARK")]
    pub memory_low_watermark: Option<f64>,
    /// Seconds a stream waits for a client to take a frame before closing it [default: 10].
    #[arg(long, env = "PUBSUB_STREAM_WRITE_TIMEOUT_SECONDS")]
    pub stream_write_timeout_seconds: Option<u64>,
}

/// `memory:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MemorySection {
    limit_bytes: Option<u64>,
    high_watermark: Option<f64>,
    low_watermark: Option<f64>,
}

/// `streams:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamsSection {
    write_timeout_seconds: Option<u64>,
}

impl OverloadSettings {
    /// The flags over the file's keys over the defaults.
    pub(super) fn resolve(
        args: &OverloadArgs,
        memory: MemorySection,
        streams: StreamsSection,
    ) -> Result<Self, ConfigError> {
        let limit = match args.memory_limit_bytes.or(memory.limit_bytes) {
            Some(0) => {
                return Err(ConfigError::Invalid(
                    "the memory limit must be positive".to_owned(),
                ));
            }
            Some(limit) => limit,
            None => (machine_memory_bytes() as f64 * DEFAULT_MEMORY_SHARE) as u64,
        };
        let high = args
            .memory_high_watermark
            .or(memory.high_watermark)
            .unwrap_or(DEFAULT_HIGH_WATERMARK);
        let low = args
            .memory_low_watermark
            .or(memory.low_watermark)
            .unwrap_or(DEFAULT_LOW_WATERMARK);
        if !(0.0 < low && low < high && high <= 1.0) {
            return Err(ConfigError::Invalid(format!(
                "memory watermarks must satisfy 0 < low < high <= 1, got low {low} and high {high}"
            )));
        }
        let seconds = args
            .stream_write_timeout_seconds
            .or(streams.write_timeout_seconds)
            .map_or(DEFAULT_STREAM_WRITE_TIMEOUT, Duration::from_secs);
        if seconds.is_zero() {
            return Err(ConfigError::Invalid(
                "the stream write timeout must be positive".to_owned(),
            ));
        }
        Ok(Self {
            memory: MemoryLimits {
                limit_bytes: limit,
                high_bytes: (limit as f64 * high) as u64,
                low_bytes: (limit as f64 * low) as u64,
            },
            stream_write_timeout: seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: OverloadArgs, yaml: &str) -> Result<OverloadSettings, ConfigError> {
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            memory: MemorySection,
            #[serde(default)]
            streams: StreamsSection,
        }
        let file: File = serde_saphyr::from_str(yaml).expect("yaml");
        OverloadSettings::resolve(&args, file.memory, file.streams)
    }

    #[test]
    fn the_default_bound_is_half_the_machine_with_watermarks_at_90_and_80_percent() {
        let settings = resolve(OverloadArgs::default(), "{}").expect("defaults");
        let limit = settings.memory.limit_bytes;
        assert_eq!(limit, (machine_memory_bytes() as f64 * 0.5) as u64);
        assert_eq!(settings.memory.high_bytes, (limit as f64 * 0.9) as u64);
        assert_eq!(settings.memory.low_bytes, (limit as f64 * 0.8) as u64);
        assert_eq!(settings.stream_write_timeout, Duration::from_secs(10));
    }

    #[test]
    fn flags_beat_the_file() {
        let file = "memory: { limit_bytes: 1000, high_watermark: 0.5, low_watermark: 0.25 }\n\
                    streams: { write_timeout_seconds: 7 }";
        let from_file = resolve(OverloadArgs::default(), file).expect("file");
        assert_eq!(
            from_file.memory,
            MemoryLimits {
                limit_bytes: 1000,
                high_bytes: 500,
                low_bytes: 250,
            }
        );
        assert_eq!(from_file.stream_write_timeout, Duration::from_secs(7));
        let args = OverloadArgs {
            memory_limit_bytes: Some(2000),
            stream_write_timeout_seconds: Some(2),
            ..OverloadArgs::default()
        };
        let flagged = resolve(args, file).expect("flags");
        assert_eq!(flagged.memory.limit_bytes, 2000);
        assert_eq!(flagged.memory.high_bytes, 1000, "the file's watermark");
        assert_eq!(flagged.stream_write_timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for yaml in [
            "memory: { limit_bytes: 0 }",
            "memory: { high_watermark: 0.5, low_watermark: 0.6 }",
            "memory: { high_watermark: 1.5 }",
            "streams: { write_timeout_seconds: 0 }",
        ] {
            assert!(
                matches!(
                    resolve(OverloadArgs::default(), yaml),
                    Err(ConfigError::Invalid(_))
                ),
                "{yaml}"
            );
        }
    }
}

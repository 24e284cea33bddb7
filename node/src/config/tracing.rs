//! [`TracingSettings`]: OpenTelemetry trace export (OTLP over HTTP, protobuf)
//! and the per-request access log.
//!
//! ```yaml
//! tracing:
//!   enabled: true
//!   otlp_endpoint: http://otel-collector:4318/v1/traces
//!   sampling_ratio: 0.01      # of new traces; a sampled parent is always followed
//!   service_name: pubsubgo
//! log:
//!   access: true              # one info line per HTTP request
//! ```

use clap::Args;
use serde::Deserialize;

use super::error::ConfigError;

/// Where spans go when no endpoint is set: an OTel collector on this host.
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// `service.name` of the spans when none is set.
pub const DEFAULT_SERVICE_NAME: &str = "pubsubgo";

/// The resolved trace and access-log settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingSettings {
    /// Export spans; when off, no span leaves the process.
    pub enabled: bool,
    /// The OTLP/HTTP traces URL, path included (`…/v1/traces`).
    pub otlp_endpoint: String,
    /// Share of new traces recorded, 0 to 1. A request whose `traceparent`
    /// says sampled is recorded whatever the ratio (parent-based sampling).
    pub sampling_ratio: f64,
    pub service_name: String,
    /// Log one info line per HTTP request.
    pub access_log: bool,
}

impl Eq for TracingSettings {}

impl Default for TracingSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            otlp_endpoint: DEFAULT_OTLP_ENDPOINT.to_owned(),
            sampling_ratio: 1.0,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            access_log: true,
        }
    }
}

/// The tracing flags, each with its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct TracingArgs {
    /// Export OpenTelemetry traces over OTLP/HTTP [default: false].
    #[arg(long, env = "PUBSUB_TRACING_ENABLED")]
    pub tracing_enabled: Option<bool>,
    /// OTLP/HTTP traces endpoint [default: http://localhost:4318/v1/traces].
    #[arg(long, env = "PUBSUB_TRACING_OTLP_ENDPOINT")]
    pub tracing_otlp_endpoint: Option<String>,
    /// Share of new traces to record, 0 to 1 [default: 1.0].
    #[arg(long, env = "PUBSUB_TRACING_SAMPLING_RATIO")]
    pub tracing_sampling_ratio: Option<f64>,
    /// `service.name` of the exported spans [default: pubsubgo].
    #[arg(long, env = "PUBSUB_TRACING_SERVICE_NAME")]
    pub tracing_service_name: Option<String>,
    /// Log one line per HTTP request at info [default: true].
    #[arg(long, env = "PUBSUB_LOG_ACCESS")]
    pub log_access: Option<bool>,
}

/// `tracing:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TracingSection {
    enabled: Option<bool>,
    otlp_endpoint: Option<String>,
    sampling_ratio: Option<f64>,
    service_name: Option<String>,
}

impl TracingSettings {
    /// The flags over the file's keys over the defaults; `access` is the
    /// file's `log.access`.
    pub(super) fn resolve(
        args: &TracingArgs,
        file: TracingSection,
        access: Option<bool>,
    ) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let settings = Self {
            enabled: args.tracing_enabled.or(file.enabled).unwrap_or(false),
            otlp_endpoint: args
                .tracing_otlp_endpoint
                .clone()
                .or(file.otlp_endpoint)
                .unwrap_or(defaults.otlp_endpoint),
            sampling_ratio: args
                .tracing_sampling_ratio
                .or(file.sampling_ratio)
                .unwrap_or(defaults.sampling_ratio),
            service_name: args
                .tracing_service_name
                .clone()
                .or(file.service_name)
                .unwrap_or(defaults.service_name),
            access_log: args.log_access.or(access).unwrap_or(true),
        };
        if !(0.0..=1.0).contains(&settings.sampling_ratio) {
            return Err(ConfigError::Invalid(format!(
                "the tracing sampling ratio must be between 0 and 1, got {}",
                settings.sampling_ratio
            )));
        }
        if !(settings.otlp_endpoint.starts_with("http://")
            || settings.otlp_endpoint.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "the OTLP endpoint must be an http:// or https:// URL, got {:?}",
                settings.otlp_endpoint
            )));
        }
        if settings.service_name.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "the tracing service name must not be empty".to_owned(),
            ));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: TracingArgs, yaml: &str) -> Result<TracingSettings, ConfigError> {
        let file: TracingSection = serde_saphyr::from_str(yaml).expect("yaml");
        TracingSettings::resolve(&args, file, None)
    }

    #[test]
    fn tracing_is_off_by_default_and_samples_everything_when_on() {
        let settings = resolve(TracingArgs::default(), "{}").expect("defaults");
        assert_eq!(settings, TracingSettings::default());
        assert!(!settings.enabled);
        assert!(settings.access_log);
    }

    #[test]
    fn flags_beat_the_file() {
        let file = "{ enabled: true, otlp_endpoint: 'http://collector:4318/v1/traces', sampling_ratio: 0.5 }";
        let from_file = resolve(TracingArgs::default(), file).expect("file");
        assert!(from_file.enabled);
        assert_eq!(from_file.otlp_endpoint, "http://collector:4318/v1/traces");
        let args = TracingArgs {
            tracing_enabled: Some(false),
            tracing_sampling_ratio: Some(0.01),
            ..TracingArgs::default()
        };
        let flagged = resolve(args, file).expect("flags");
        assert!(!flagged.enabled);
        assert_eq!(flagged.sampling_ratio, 0.01);
        assert_eq!(flagged.otlp_endpoint, "http://collector:4318/v1/traces");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for yaml in [
            "{ sampling_ratio: 1.5 }",
            "{ sampling_ratio: -0.1 }",
            "{ otlp_endpoint: 'collector:4318' }",
            "{ service_name: ' ' }",
        ] {
            assert!(
                matches!(
                    resolve(TracingArgs::default(), yaml),
                    Err(ConfigError::Invalid(_))
                ),
                "{yaml}"
            );
        }
    }
}

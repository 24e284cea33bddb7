//! Structured logs through `tracing` on standard output: human text by
//! default (coloured only when standard output is a terminal), JSON lines with
//! `--log-format json`. Span fields meant for OpenTelemetry only (`otel.*`)
//! are left out of log lines ([`super::log_fields`]). The level filter
//! follows `RUST_LOG` syntax. With tracing on, the same spans also go to
//! OpenTelemetry (see [`super::traces`]),
//! and each request's span carries its `trace_id`, so every log line of a
//! traced request names the trace.

use std::io::IsTerminal;

use clap::ValueEnum;

use super::log_fields::{JsonFields, TextFields};
use super::sampling::Sampling;
use crate::http::access::ACCESS_TARGET;
use opentelemetry_sdk::trace::SdkTracer;
use serde::Deserialize;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// What goes to OpenTelemetry whatever the log level: the broker's `info`
/// spans, without openraft's election chatter.
const SPAN_FILTER: &str = "info,openraft=warn";

/// Installs the global subscriber: logs in `format` filtered by `filter`
/// (with the access lines unless `access` is false), and spans to `tracer`
/// when tracing is on, through `sampling`. Call once, from the binary.
pub fn init(
    format: LogFormat,
    filter: &str,
    access: bool,
    traces: Option<(SdkTracer, Sampling)>,
) -> Result<(), String> {
    let mut filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid log level {filter:?}: {e}"))?;
    if !access {
        filter = filter.add_directive(
            format!("{ACCESS_TARGET}=off")
                .parse()
                .map_err(|e| format!("access log filter: {e}"))?,
        );
    }
    let logs = match format {
        // Colours only on a terminal: escape codes in a file or a container's
        // log are noise, and colouring every span's fields as the span is
        // created cost a sixth of a REST publish's instructions.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .fmt_fields(TextFields)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .fmt_fields(JsonFields)
            .boxed(),
    };
    // Spans are `info`: they get their own filter, so a quieter log level
    // (`--log-level warn`) does not silently turn tracing off. Sampling is
    // part of that filter: an unsampled span never reaches OpenTelemetry.
    let span_filter = EnvFilter::try_new(SPAN_FILTER).map_err(|e| format!("span filter: {e}"))?;
    let spans = traces.map(|(tracer, sampling)| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(span_filter.and(sampling))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
        .try_init()
        .map_err(|e| e.to_string())
}

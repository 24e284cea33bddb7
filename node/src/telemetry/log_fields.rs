//! How span and event fields are written in log lines: as `tracing-subscriber`
//! writes them (text or JSON), without the fields that exist for OpenTelemetry
//! only. `otel.name` and `otel.kind` name and classify a span for the trace
//! exporter, and `messaging.system` is the same on every messaging span; in a
//! log line they repeat the span's name or nothing at all. The log layer
//! writes every field of every span it sees as the span is created (so that
//! an event inside it can name it), whether or not anything is ever logged in
//! it: fields it does not write are work saved on every request.

use std::collections::BTreeMap;
use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::fmt::format::{DefaultVisitor, JsonVisitor, Writer};

/// Whether a field is left out of log lines.
fn skipped(field: &Field) -> bool {
    let name = field.name();
    name.starts_with("otel.") || name == "messaging.system"
}

/// Text fields (`name=value`, the message bare), without the OpenTelemetry-only
/// ones.
#[derive(Debug, Default)]
pub struct TextFields;

/// JSON fields (one object per span), without the OpenTelemetry-only ones.
#[derive(Debug, Default)]
pub struct JsonFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Skipping(DefaultVisitor::new(writer, true));
        fields.record(&mut visitor);
        visitor.0.finish()
    }
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = Skipping(JsonVisitor::new(&mut writer));
        fields.record(&mut visitor);
        visitor.0.finish()
    }

    /// Fields recorded on a span after its creation join its one JSON object
    /// (appending a second object would make the line unreadable).
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut added = String::new();
        let mut visitor = Skipping(JsonVisitor::new(&mut added));
        fields.record(&mut visitor);
        visitor.0.finish()?;
        if current.fields.is_empty() {
            current.fields = added;
            return Ok(());
        }
        let mut merged: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&current.fields).map_err(|_| fmt::Error)?;
        let added: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&added).map_err(|_| fmt::Error)?;
        merged.extend(added);
        current.fields = serde_json::to_string(&merged).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

/// Passes every field but the skipped ones to the visitor inside.
struct Skipping<V>(V);

impl<V: Visit> Visit for Skipping<V> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !skipped(field) {
            self.0.record_debug(field, value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !skipped(field) {
            self.0.record_str(field, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if !skipped(field) {
            self.0.record_i64(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if !skipped(field) {
            self.0.record_u64(field, value);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if !skipped(field) {
            self.0.record_f64(field, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if !skipped(field) {
            self.0.record_bool(field, value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !skipped(field) {
            self.0.record_error(field, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects what the log layer writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lines").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("lines").clone()).expect("utf-8")
        }
    }

    /// A span like the broker's request spans, a field recorded later, and
    /// an event inside it.
    fn log_in_a_request_span() {
        let span = tracing::info_span!(
            "request",
            otel.name = "POST /v1/topics/{topic}:publish",
            otel.kind = "server",
            messaging.system = "pubsubgo",
            http.route = "/v1/topics/{topic}:publish",
            http.response.status_code = tracing::field::Empty,
        );
        span.record("http.response.status_code", 503);
        span.in_scope(|| tracing::warn!(code = "UNAVAILABLE", "request failed"));
    }

    #[test]
    fn text_lines_name_the_span_without_its_opentelemetry_fields() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .fmt_fields(TextFields)
                .with_writer(lines.clone()),
        );
        tracing::subscriber::with_default(subscriber, log_in_a_request_span);
        let text = lines.text();
        assert!(
            text.contains(
                "request{http.route=\"/v1/topics/{topic}:publish\" \
                 http.response.status_code=503}: "
            ),
            "{text}"
        );
        assert!(
            text.contains("request failed code=\"UNAVAILABLE\""),
            "{text}"
        );
        assert!(!text.contains("otel."), "{text}");
        assert!(!text.contains("pubsubgo"), "{text}");
    }

    #[test]
    fn json_lines_hold_one_object_per_span_without_its_opentelemetry_fields() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .fmt_fields(JsonFields)
                .with_writer(lines.clone()),
        );
        tracing::subscriber::with_default(subscriber, log_in_a_request_span);
        let line: serde_json::Value =
            serde_json::from_str(lines.text().trim()).expect("one JSON line");
        assert_eq!(line["message"], "request failed");
        assert_eq!(line["code"], "UNAVAILABLE");
        let span = &line["span"];
        assert_eq!(span["name"], "request");
        assert_eq!(span["http.route"], "/v1/topics/{topic}:publish");
        assert_eq!(span["http.response.status_code"], 503);
        assert!(span.get("otel.name").is_none(), "{line}");
        assert!(span.get("otel.kind").is_none(), "{line}");
        assert!(span.get("messaging.system").is_none(), "{line}");
    }
}

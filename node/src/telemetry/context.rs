//! W3C trace context (`traceparent`, `tracestate`) in and out of HTTP
//! headers, and in message attributes.
//!
//! A message carries the context it was created in as its `traceparent` (and
//! `tracestate`, when there is one) attributes: set by the publisher when it
//! traces, else stamped by the broker from its `publish` span when that span
//! is sampled. Every delivery reads them back, so the delivery's spans join
//! (or link to) the creation trace.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The message attribute (and HTTP header) holding the W3C `traceparent`.
pub const TRACEPARENT: &str = "traceparent";
/// The message attribute (and HTTP header) holding the W3C `tracestate`.
pub const TRACESTATE: &str = "tracestate";

/// The context a request's `traceparent` header names; an empty context
/// when it has none (or an unreadable one).
pub fn from_headers(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderReader(headers))
}

/// Writes `cx` as `traceparent` (and `tracestate`) headers; nothing when
/// `cx` has no valid span.
pub fn to_headers(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderWriter(headers));
}

/// The current `tracing` span's context, as headers for an outgoing request.
pub fn current_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    to_headers(&tracing::Span::current().context(), &mut headers);
    headers
}

/// The creation context a message's attributes carry, when they carry a
/// valid one.
pub fn from_attributes(attributes: &BTreeMap<String, String>) -> Option<SpanContext> {
    if !attributes.contains_key(TRACEPARENT) {
        return None;
    }
    let cx = TraceContextPropagator::new().extract(&AttributeReader(attributes));
    let span = cx.span().span_context().clone();
    span.is_valid().then_some(span)
}

/// Stamps the current span's context on a message's attributes, unless the
/// publisher set a `traceparent` of its own or the span is not sampled (so
/// nothing is added while tracing is off).
pub fn stamp_current(attributes: &mut BTreeMap<String, String>) {
    if attributes.contains_key(TRACEPARENT) {
        return;
    }
    let cx = tracing::Span::current().context();
    if cx.span().span_context().is_sampled() {
        TraceContextPropagator::new().inject_context(&cx, &mut AttributeWriter(attributes));
    }
}

/// The trace id of `span` as 32 hex digits; `None` when OpenTelemetry does
/// not record it (tracing off, or not sampled).
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| context.trace_id().to_string())
}

struct HeaderReader<'a>(&'a HeaderMap);

impl Extractor for HeaderReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderWriter<'a>(&'a mut HeaderMap);

impl Injector for HeaderWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct AttributeReader<'a>(&'a BTreeMap<String, String>);

impl Extractor for AttributeReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct AttributeWriter<'a>(&'a mut BTreeMap<String, String>);

impl Injector for AttributeWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_attribute_is_read_back_as_the_span_context_it_names() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let attributes = BTreeMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
        let context = from_attributes(&attributes).expect("valid context");
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(context.is_sampled());
        let mut headers = HeaderMap::new();
        to_headers(
            &Context::new().with_remote_span_context(context),
            &mut headers,
        );
        assert_eq!(headers[TRACEPARENT], traceparent);
    }

    #[test]
    fn a_malformed_traceparent_is_no_context() {
        let attributes = BTreeMap::from([(TRACEPARENT.to_owned(), "00-zz-01".to_owned())]);
        assert_eq!(from_attributes(&attributes), None);
        assert_eq!(from_attributes(&BTreeMap::new()), None);
    }
}

//! Every client request's span, access log line and metrics.
//!
//! The span ([`request_span`]) is named by the route template, continues the
//! caller's trace when the request has a `traceparent` header, and records
//! its `trace_id`, so every log line of the request names the trace. The
//! access line ([`access`]) is logged at info with the target `access`
//! (`log.access: false` turns it off by filtering that target).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::Metrics;
use crate::telemetry::{context, sampling};

/// The target of the access log lines.
pub const ACCESS_TARGET: &str = "access";

/// The span a request runs in: `otel.name` is `METHOD route`, and the trace
/// is the caller's when its `traceparent` header names one; otherwise the
/// request starts a trace, sampled with the configured ratio
/// ([`sampling::ROOT`]).
pub fn request_span(request: &Request) -> Span {
    let route = route(request);
    macro_rules! request_span {
        ($target:expr) => {
            tracing::info_span!(
                target: $target,
                "request",
                otel.name = format!("{} {route}", request.method()),
                otel.kind = "server",
                http.request.method = %request.method(),
                http.route = route,
                http.response.status_code = tracing::field::Empty,
                trace_id = tracing::field::Empty,
            )
        };
    }
    // Most requests carry no trace context: skip the propagator for them.
    let parent = request
        .headers()
        .contains_key(context::TRACEPARENT)
        .then(|| context::from_headers(request.headers()))
        .filter(|parent| parent.span().span_context().is_valid());
    let span = if let Some(parent) = parent {
        let span = request_span!(sampling::TRACED);
        // Fails only when no OpenTelemetry layer is installed (tracing off).
        let _ = span.set_parent(parent);
        span
    } else {
        request_span!(sampling::ROOT)
    };
    if let Some(id) = context::trace_id(&span) {
        span.record("trace_id", id);
    }
    span
}

fn route(request: &Request) -> &str {
    // The template, never the raw path: names are unbounded.
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
}

/// The route template as a metric label: borrowed from [`super::ROUTES`]
/// when it is one of them.
fn route_label(request: &Request) -> Cow<'static, str> {
    let route = route(request);
    super::ROUTES
        .iter()
        .find(|known| **known == route)
        .map_or_else(
            || Cow::Owned(route.to_owned()),
            |known| Cow::Borrowed(*known),
        )
}

/// The method as a metric label: borrowed for the standard methods.
fn method_label(method: &Method) -> Cow<'static, str> {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    match STANDARD.iter().find(|standard| *standard == method) {
        Some(standard) => Cow::Borrowed(standard.as_str()),
        None => Cow::Owned(method.as_str().to_owned()),
    }
}

/// The HTTP version as OpenTelemetry's `network.protocol.version` writes it.
fn protocol_label(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Middleware: counts and times the request, counts it as an error when it
/// is one, and logs its access line. One layer for all three: every layer
/// costs each request a clone of the service below it.
pub async fn access(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(&request);
    let method = method_label(request.method());
    let publish = request.method() == Method::POST && request.uri().path().ends_with(":publish");
    let protocol = protocol_label(request.version());
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    super::problem::count_error(&metrics, &response);
    metrics
        .http
        .observe(route.clone(), method.clone(), status, seconds);
    if publish && response.status().is_success() {
        metrics.http.publish_ack.observe(seconds);
    }
    Span::current().record("http.response.status_code", status);
    let bytes = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    tracing::info!(
        target: ACCESS_TARGET,
        method = &*method,
        route = &*route,
        protocol,
        status,
        duration_ms = seconds * 1000.0,
        bytes,
        "request"
    );
    response
}

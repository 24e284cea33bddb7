//! [`HttpMetrics`]: client API requests, by the route template that matched
//! (never the raw path), the method and the status class.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_http_requests_total` | counter, `route`, `method`, `status_class` | client API requests answered; `status_class` is `2xx` … `5xx`; `route` is the template (`/v1/topics/{name}`) or `unmatched` |
//! | `pubsubgo_http_request_duration_seconds` | histogram, `route`, `method`, `status_class` | request in to response head out (a WebSocket upgrade ends at the `101`) |
//! | `pubsubgo_publish_ack_latency_seconds` | histogram | `:publish` requests, request in to reply out, successful ones only |

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The labels of the request metrics. Route templates and standard methods
/// are borrowed, so counting a request allocates nothing.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: Cow<'static, str>,
    pub method: Cow<'static, str>,
    pub status_class: &'static str,
}

/// Handles on the request metrics.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub duration: Family<RequestLabels, Histogram>,
    pub publish_ack: Histogram,
}

/// 0.5 ms to ~16 s, doubling.
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 16)
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(latency_buckets())),
            publish_ack: Histogram::new(latency_buckets()),
        }
    }
}

impl HttpMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "pubsubgo_http_requests",
            "Client API requests by route template, method and status class",
            metrics.requests.clone(),
        );
        registry.register(
            "pubsubgo_http_request_duration_seconds",
            "Client API request duration by route template, method and status class",
            metrics.duration.clone(),
        );
        registry.register(
            "pubsubgo_publish_ack_latency_seconds",
            "Publish requests from request in to reply out",
            metrics.publish_ack.clone(),
        );
        metrics
    }

    /// Records one answered request.
    pub fn observe(
        &self,
        route: Cow<'static, str>,
        method: Cow<'static, str>,
        status: u16,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            route,
            method,
            status_class: status_class(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.duration.get_or_create(&labels).observe(seconds);
    }
}

/// `2xx` for 200 and so on; `other` outside 100..=599.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

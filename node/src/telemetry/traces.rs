//! [`TraceExport`]: spans out of the process over OTLP/HTTP (protobuf), through
//! a bounded queue that never blocks the request that ended the span.
//!
//! The SDK's own batch processor runs its exporter on a thread of its own,
//! where the async HTTP client has no runtime; this one (`ExportQueue`)
//! hands finished spans to a task on the broker's runtime instead. When the
//! queue is full (the collector is slow or down) a span is dropped and counted
//! in `pubsubgo_trace_spans_dropped_total{reason="queue_full"}`; a batch the
//! collector refuses or never answers is counted with `reason="export_failed"`.
//!
//! Sampling is decided before a span is built, by the OpenTelemetry layer's
//! filter ([`super::sampling`]): a new trace starts with the configured ratio
//! there. The SDK's sampler only follows a parent's sampled flag (a caller's
//! `traceparent`, a message's creation context) and records every root the
//! filter let through.

use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    Sampler, SdkTracer, SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor,
};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::sampling::Sampling;
use super::trace_metrics::TraceMetrics;
use crate::config::tracing::TracingSettings;

/// Spans waiting for export at most; more are dropped (and counted).
pub const QUEUE_SPANS: usize = 8192;
/// Spans sent in one OTLP request at most.
pub const BATCH_SPANS: usize = 512;
/// How long one export request may take.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The instrumentation scope of every span the broker makes.
pub const SCOPE: &str = "pubsubgo";

/// A running trace pipeline: the tracer for the `tracing` layer, and the
/// export task to flush on shutdown.
#[derive(Debug)]
pub struct TraceExport {
    provider: SdkTracerProvider,
    worker: JoinHandle<()>,
    ratio: f64,
}

/// Why the pipeline did not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the OTLP exporter for {endpoint}: {reason}")]
pub struct TraceExportError {
    endpoint: String,
    reason: String,
}

impl TraceExport {
    /// Starts exporting to `settings.otlp_endpoint`, as node `node_id`. Must
    /// run inside the Tokio runtime (the export task is spawned on it).
    pub fn start(
        settings: &TracingSettings,
        node_id: u64,
        metrics: &TraceMetrics,
    ) -> Result<Self, TraceExportError> {
        let invalid = |reason: String| TraceExportError {
            endpoint: settings.otlp_endpoint.clone(),
            reason,
        };
        // reqwest is built with HTTP/2 for the API client's option; exports
        // stay on HTTP/1.1, as before, whatever an https collector offers.
        api::tls::install_default_provider();
        let http = reqwest::Client::builder()
            .http1_only()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(http)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.otlp_endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attributes([
                KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
                KeyValue::new("service.instance.id", node_id.to_string()),
                KeyValue::new("pubsubgo.node.id", node_id.to_string()),
            ])
            .build();
        exporter.set_resource(&resource);
        let (queue, worker) = ExportQueue::start(exporter, metrics.clone());
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_resource(resource)
            .with_span_processor(queue)
            .build();
        Ok(Self {
            provider,
            worker,
            ratio: settings.sampling_ratio,
        })
    }

    /// The tracer the `tracing-opentelemetry` layer records with.
    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer(SCOPE)
    }

    /// The filter that samples new traces at the configured ratio.
    pub fn sampling(&self) -> Sampling {
        Sampling::new(self.ratio)
    }

    /// Closes the queue and waits up to `grace` for its last spans to go out.
    pub async fn shutdown(self, grace: Duration) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "closing the trace export queue");
        }
        if tokio::time::timeout(grace, self.worker).await.is_err() {
            tracing::warn!(?grace, "spans still unexported after the grace period");
        }
    }
}

/// The span processor: a bounded channel to the export task.
#[derive(Debug)]
struct ExportQueue {
    /// `None` once shut down: the task exports what is left and ends.
    sender: Mutex<Option<mpsc::Sender<SpanData>>>,
    dropped_full: Counter,
}

impl ExportQueue {
    fn start<E: SpanExporter + 'static>(
        exporter: E,
        metrics: TraceMetrics,
    ) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE_SPANS);
        let queue = Self {
            sender: Mutex::new(Some(sender)),
            dropped_full: metrics.dropped("queue_full"),
        };
        (queue, tokio::spawn(export(exporter, receiver, metrics)))
    }
}

impl SpanProcessor for ExportQueue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let queued = sender.as_ref().is_some_and(|s| s.try_send(span).is_ok());
        if !queued {
            self.dropped_full.inc();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        match self.sender.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(_) => Ok(()),
            None => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

/// Sends what the queue holds, up to [`BATCH_SPANS`] a request, until the
/// queue is closed and empty. Spans gather while a request is in flight, so
/// batches grow with load and no timer is needed.
async fn export<E: SpanExporter>(
    exporter: E,
    mut receiver: mpsc::Receiver<SpanData>,
    metrics: TraceMetrics,
) {
    let failed = metrics.dropped("export_failed");
    let mut batch = Vec::with_capacity(BATCH_SPANS);
    let mut failing = false;
    while receiver.recv_many(&mut batch, BATCH_SPANS).await > 0 {
        let spans = batch.len() as u64;
        match exporter.export(std::mem::take(&mut batch)).await {
            Ok(()) => {
                metrics.exported.inc_by(spans);
                if failing {
                    tracing::info!("trace export works again");
                    failing = false;
                }
            }
            Err(error) => {
                failed.inc_by(spans);
                if !failing {
                    tracing::warn!(%error, "trace export failed; spans are dropped until it works");
                    failing = true;
                }
            }
        }
    }
    let _ = exporter.shutdown();
}

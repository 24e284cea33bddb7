//! Running a broker: both listeners, background maintenance (retention, and
//! expiry of consumer-group members), graceful shutdown.
//!
//! [`run`] takes bound listeners and a shutdown token, so the binary, tests and
//! embedders all drive the same code. On shutdown: stop accepting, let in-flight
//! requests finish, end long polls, send WebSocket close frames, then wait up to
//! the grace period for streams to end. The push supervisor (see
//! [`crate::push`]) runs beside the listeners and stops on the same token.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use crate::clock::Clock;
use crate::config::StorageConfig;
use crate::http::{self, AppState};
use crate::metadata_store::MetadataStore;
use crate::overload::{MemoryBudget, Overload};
use crate::push;
pub use crate::security::ClientSecurity;
use crate::security::tls_listener::TlsListener;
use crate::storage::memory::MemoryStorage;
use crate::storage::redis::RedisStorage;
use crate::storage::{FencedStorage, Storage, StorageError};
use crate::telemetry::Metrics;
use crate::telemetry::connections::CountingListener;

/// Builds a single-node broker on memory storage.
pub fn memory_broker(shutdown: CancellationToken) -> Broker {
    broker(
        MetadataStore::local(),
        Arc::new(MemoryStorage::new()),
        shutdown,
    )
}

/// Builds a broker on `metadata` and `storage`, with no memory bound.
pub fn broker(
    metadata: MetadataStore,
    storage: Arc<dyn Storage>,
    shutdown: CancellationToken,
) -> Broker {
    Broker::new(
        metadata,
        storage,
        Arc::new(Metrics::new()),
        Clock::new(),
        shutdown,
        Overload::unbounded(),
    )
}

/// Opens the configured storage; for Redis this connects (and fails if Redis
/// cannot be reached now) and records its round trips in `metrics`. Memory
/// storage counts what it holds in `memory`.
pub async fn open_storage(
    config: &StorageConfig,
    memory: &Arc<MemoryBudget>,
    metrics: &Metrics,
) -> Result<Arc<dyn FencedStorage>, StorageError> {
    Ok(match config {
        StorageConfig::Memory => Arc::new(MemoryStorage::within(memory.clone())),
        StorageConfig::Redis(settings) => Arc::new(
            RedisStorage::connect(settings)
                .await?
                .observed(settings, metrics.redis.clone()),
        ),
    })
}

type Serving = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// Serves `/metrics` of `registry` on `listener`, over TLS with `tls`.
fn serve_metrics(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    registry: &Arc<Metrics>,
    shutdown: CancellationToken,
) -> io::Result<Serving> {
    let registry = registry.clone();
    let app = Router::new().route(
        api::paths::METRICS,
        get(move || {
            let registry = registry.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    registry.encode(),
                )
            }
        }),
    );
    let stop = shutdown.cancelled_owned();
    Ok(match tls {
        Some(config) => Box::pin(
            axum::serve(TlsListener::new(listener, config)?, app)
                .with_graceful_shutdown(stop)
                .into_future(),
        ),
        None => Box::pin(
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .into_future(),
        ),
    })
}

/// Serves `broker` until `broker.shutdown` is cancelled, with TLS and
/// authentication as `security` says.
pub async fn run(
    client: TcpListener,
    metrics: Option<TcpListener>,
    broker: Broker,
    grace: Duration,
    security: ClientSecurity,
) -> io::Result<()> {
    let shutdown = broker.shutdown.clone();
    let streams = TaskTracker::new();
    let supervisor = push::Supervisor::new(
        broker.delivery.clone(),
        broker.metadata.clone(),
        broker.metrics.clone(),
        broker.overload.memory.clone(),
        shutdown.clone(),
    )
    .map_err(io::Error::other)?;
    let maintenance = tokio::spawn(broker.upkeep.clone().run(shutdown.clone()));
    let mut push = tokio::spawn(supervisor.run());
    let group_expiry = tokio::spawn(broker.groups.clone().run_expiry(shutdown.clone()));

    let app = http::router(AppState {
        broker: broker.clone(),
        streams: streams.clone(),
        auth: security.auth,
        limits: security.limits,
    });
    // The rate limits need each request's client address.
    let app = app.into_make_service_with_connect_info::<http::rate_limit::ClientAddr>();
    let counted = CountingListener::new(client, broker.metrics.connections("http"));
    let client_server: Serving = match security.tls {
        Some(config) => Box::pin(
            axum::serve(TlsListener::new(counted, config)?, app)
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .into_future(),
        ),
        None => Box::pin(
            axum::serve(counted, app)
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .into_future(),
        ),
    };

    let metrics_tls = security.metrics_tls;
    let metrics_server = match metrics {
        Some(listener) => Some(serve_metrics(
            listener,
            metrics_tls,
            &broker.metrics,
            shutdown.clone(),
        )?),
        None => None,
    };

    let result = match metrics_server {
        Some(metrics_server) => tokio::try_join!(client_server, metrics_server).map(|_| ()),
        None => client_server.await,
    };
    streams.close();
    if tokio::time::timeout(grace, streams.wait()).await.is_err() {
        tracing::warn!(?grace, "streams still open after the grace period");
    }
    if tokio::time::timeout(grace, &mut push).await.is_err() {
        tracing::warn!(
            ?grace,
            "push dispatchers still running after the grace period"
        );
        push.abort();
    }
    maintenance.abort();
    group_expiry.abort();
    result
}

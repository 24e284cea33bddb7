//! `pubsubgo-server`: one PubSubGo broker. With no arguments: a single node with
//! in-memory storage, clients on port 8081, metrics on 9092; `--storage redis`
//! keeps messages and subscription state in Redis.

use anyhow::Context;
use clap::Parser;
use node::config::{Args, Config};
use node::server;
use node::telemetry::logging;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::resolve(Args::parse())?;
    logging::init(config.log_format, &config.log_level).map_err(anyhow::Error::msg)?;

    let client = TcpListener::bind(config.client_addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server running?)",
                config.client_addr
            )
        })?;
    let metrics = match config.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr}"))?,
        ),
        None => None,
    };
    tracing::info!(
        client = %client.local_addr()?,
        metrics = ?metrics.as_ref().map(TcpListener::local_addr).transpose()?,
        storage = ?config.storage.kind(),
        "pubsubgo-server listening"
    );

    let storage = server::open_storage(&config.storage)
        .await
        .context("cannot open storage")?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let broker = server::broker(storage, shutdown);
    server::run(client, metrics, broker, config.shutdown_grace).await?;
    tracing::info!("pubsubgo-server stopped");
    Ok(())
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
    shutdown.cancel();
}

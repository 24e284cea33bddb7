//! `pubsubgo-server`: one PubSubGo broker. With no arguments: a single node with
//! in-memory message storage, metadata in a single-node Raft group in `./data`,
//! clients on port 8081, metrics on 9092, peers on 8082; `--storage redis` keeps
//! messages and subscription state in Redis; `--peers` makes it one node of a
//! cluster (see the README's Cluster section and `node::instance`).

use anyhow::Context;
use clap::Parser;
use node::config::{Args, Config};
use node::instance::{Instance, Listeners};
use node::telemetry::logging;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::resolve(Args::parse())?;
    logging::init(config.log_format, &config.log_level).map_err(anyhow::Error::msg)?;
    let listeners = Listeners::bind(&config).await?;
    tracing::info!(
        client = %listeners.client.local_addr()?,
        metrics = ?listeners.metrics.as_ref().map(TcpListener::local_addr).transpose()?,
        peer = %listeners.peer.local_addr()?,
        storage = ?config.storage.kind(),
        "pubsubgo-server listening"
    );
    let instance = Instance::start(&config, listeners)
        .await
        .context("cannot start the node")?;
    tokio::spawn(cancel_on_signal(instance.shutdown_token().clone()));
    instance.wait().await?;
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

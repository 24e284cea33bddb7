//! `pubsubgo-server`: one PubSubGo broker. With no arguments: a single node with
//! in-memory message storage, metadata in a single-node Raft group in `./data`,
//! clients on port 8081, metrics on 9092, peers on 8082; `--storage redis` keeps
//! messages and subscription state in Redis.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use node::config::{Args, Config};
use node::metadata_store::MetadataStore;
use node::server;
use node::telemetry::logging;
use raft::{Consensus, ConsensusConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long start-up waits for the metadata group to elect a leader.
const LEADER_WAIT: Duration = Duration::from_secs(30);

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
    let consensus = start_consensus(&config).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let broker = server::broker(
        MetadataStore::replicated(consensus.clone()),
        storage,
        shutdown,
    );
    broker
        .restore_storage()
        .await
        .context("cannot restore storage from the metadata")?;
    let served = server::run(client, metrics, broker, config.shutdown_grace).await;
    consensus.shutdown().await;
    served?;
    tracing::info!("pubsubgo-server stopped");
    Ok(())
}

/// Opens (or creates) the metadata Raft group in the data directory and waits
/// until it has a leader: a single node elects itself.
async fn start_consensus(config: &Config) -> anyhow::Result<Consensus> {
    let peer = TcpListener::bind(config.cluster.peer_addr)
        .await
        .with_context(|| format!("cannot listen for peers on {}", config.cluster.peer_addr))?;
    let peer_addr = peer.local_addr()?;
    let raft_config =
        ConsensusConfig::new(config.cluster.node_id, &config.cluster.data_dir, peer_addr);
    let consensus = Consensus::start_on(raft_config, peer)
        .await
        .with_context(|| {
            format!(
                "cannot start metadata consensus in {}",
                config.cluster.data_dir.display()
            )
        })?;
    consensus
        .wait_until(LEADER_WAIT, |m| m.leader.is_some())
        .await
        .context("no metadata leader was elected")?;
    tracing::info!(
        node_id = config.cluster.node_id,
        data_dir = %config.cluster.data_dir.display(),
        peer = %peer_addr,
        "metadata consensus ready"
    );
    Ok(consensus)
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

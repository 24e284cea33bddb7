//! `pubsubgo-server`: one PubSubGo broker. With no arguments: a single node with
//! in-memory message storage, metadata in a single-node Raft group in `./data`,
//! clients on port 8081, metrics on 9092, peers on 8082; `--storage redis` keeps
//! messages and subscription state in Redis; `--peers` makes it one node of a
//! cluster (see `docs/cluster.md` and `node::instance`).
//! `pubsubgo-server healthcheck` asks a running broker instead (see
//! [`node::config::Command`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use node::config::{Args, Command, Config, accept_single_dash_config};
use node::instance::{Instance, Listeners};
use node::telemetry::Metrics;
use node::telemetry::logging;
use node::telemetry::traces::TraceExport;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long the last spans may take to go out at exit.
const TRACE_FLUSH_GRACE: Duration = Duration::from_secs(5);

fn main() -> anyhow::Result<ExitCode> {
    // For libraries that take the process's provider (the Redis client's rediss://).
    api::tls::install_default_provider();
    let args = Args::parse_from(accept_single_dash_config(std::env::args_os()));
    let command = args.command.clone();
    let config = Config::resolve(args)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = config.worker_threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match command {
            Some(Command::Healthcheck {
                ready,
                timeout_seconds,
            }) => Ok(healthcheck(&config, ready, Duration::from_secs(timeout_seconds)).await),
            None => serve(config).await.map(|()| ExitCode::SUCCESS),
        }
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let traces = config
        .tracing
        .enabled
        .then(|| {
            TraceExport::start(
                &config.tracing,
                config.cluster.node_id.get(),
                &metrics.traces,
            )
        })
        .transpose()?;
    logging::init(
        config.log_format,
        &config.log_level,
        config.tracing.access_log,
        traces.as_ref().map(|t| (t.tracer(), t.sampling())),
    )
    .map_err(anyhow::Error::msg)?;
    let listeners = Listeners::bind(&config).await?;
    let grpc = match &listeners.grpc {
        Some(listener) => listener.local_addr()?.to_string(),
        None => "off".to_owned(),
    };
    tracing::info!(
        client = %listeners.client.local_addr()?,
        metrics = ?listeners.metrics.as_ref().map(TcpListener::local_addr).transpose()?,
        peer = %listeners.peer.local_addr()?,
        grpc = %grpc,
        storage = ?config.storage.kind(),
        tracing = config.tracing.enabled.then_some(config.tracing.otlp_endpoint.as_str()),
        worker_threads = tokio::runtime::Handle::current().metrics().num_workers(),
        "pubsubgo-server listening"
    );
    let instance = Instance::start_with(&config, listeners, metrics)
        .await
        .context("cannot start the node")?;
    tokio::spawn(cancel_on_signal(instance.shutdown_token().clone()));
    instance.wait().await?;
    if let Some(traces) = traces {
        traces.shutdown(TRACE_FLUSH_GRACE).await;
    }
    tracing::info!("pubsubgo-server stopped");
    Ok(())
}

/// Asks the local broker's client port for `/healthz` (or `/readyz`): exit 0
/// when it answers 2xx, 1 with the reason on stderr otherwise.
async fn healthcheck(config: &Config, ready: bool, timeout: Duration) -> ExitCode {
    // A broker listening on every address is asked on loopback.
    let ip = match config.client_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, config.client_addr.port());
    let path = if ready { "/readyz" } else { "/healthz" };
    let (base, answer) = if config.security.tls.is_some() {
        let base = format!("https://{addr}");
        let answer = ask_own_tls_port(&base, path, timeout).await;
        (base, answer)
    } else {
        let base = format!("http://{addr}");
        let answer = match api::Client::new(&base, timeout) {
            Ok(client) if ready => client.ready().await.map(drop),
            Ok(client) => client.health().await.map(drop),
            Err(e) => Err(e),
        };
        (base, answer.map_err(|e| e.to_string()))
    };
    match answer {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pubsubgo-server at {base} is not healthy ({path}): {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET path` on this process's own TLS client port, without checking its
/// certificate: the check runs on loopback inside the container, and the
/// certificate names the service, not 127.0.0.1; what matters is the answer.
async fn ask_own_tls_port(base: &str, path: &str, timeout: Duration) -> Result<(), String> {
    api::tls::install_default_provider();
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .tls_danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| e.to_string())?;
    let response = http
        .get(format!("{base}{path}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
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

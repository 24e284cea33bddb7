use std::time::Duration;

use axum::routing::get;
use raft::{Consensus, ConsensusConfig};
use tempfile::TempDir;
use tokio::net::TcpListener;

use crate::harness::{WAIT, id};

/// Routes the caller adds are served on the peer port beside Raft's, and
/// stop with the node.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn extra_routes_are_served_on_the_peer_port() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = ConsensusConfig::new(id(1), dir.path(), addr);
    let extra = axum::Router::new().route("/forward/ping", get(|| async { "pong" }));
    let node = Consensus::start_with_routes(config, listener, extra).await?;
    node.wait_until(WAIT, |m| m.leader == Some(id(1))).await?;

    // reqwest builds a TLS config from the process's crypto provider.
    raft::install_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build()?;
    let ping = |http: reqwest::Client| async move {
        http.get(format!("http://{addr}/forward/ping"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
    };
    let answer = ping(http.clone()).await?.error_for_status()?.text().await?;
    assert_eq!(answer, "pong");

    node.shutdown().await;
    assert!(ping(http).await.is_err(), "served after shutdown");
    Ok(())
}

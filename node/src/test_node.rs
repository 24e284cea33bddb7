//! A whole broker on ephemeral loopback ports, for tests in any crate.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::server;

/// A running in-memory broker. Dropping it without [`TestNode::stop`] cancels it too.
#[derive(Debug)]
pub struct TestNode {
    /// Client API, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// Metrics endpoint base, e.g. `http://127.0.0.1:40124`.
    pub metrics_url: String,
    pub broker: Broker,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestNode {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(server::ClientSecurity::default()).await
    }

    /// Like [`TestNode::start`], with TLS and authentication as `security`
    /// says; the URL is `https://` when TLS is on.
    pub async fn start_with(security: server::ClientSecurity) -> std::io::Result<Self> {
        let client = TcpListener::bind("127.0.0.1:0").await?;
        let metrics = TcpListener::bind("127.0.0.1:0").await?;
        let scheme = if security.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://{}", client.local_addr()?);
        let metrics_url = format!("http://{}", metrics.local_addr()?);
        let shutdown = CancellationToken::new();
        let broker = server::memory_broker(shutdown.clone());
        let task = tokio::spawn(server::run(
            client,
            Some(metrics),
            broker.clone(),
            Duration::from_secs(5),
            security,
        ));
        Ok(Self {
            url,
            metrics_url,
            broker,
            shutdown,
            task: Some(task),
        })
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let Some(task) = self.task.take() else {
            return;
        };
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "test node stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "test node task failed"),
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

//! [`TlsListener`]: a port's listener when TLS is on (the client, metrics and
//! peer ports; on the peer port its config asks for a client certificate,
//! and a connection without one never gets past the handshake). Handshakes
//! run in their own tasks, each bounded by [`HANDSHAKE_TIMEOUT`], so a client
//! that connects and never finishes its handshake holds up no one else;
//! finished connections reach `axum::serve` through a channel.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use axum::serve::Listener;

/// Longest a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake is done, waiting for `axum::serve` to take them.
const READY_BACKLOG: usize = 128;

/// Accepts connections of an inner listener and hands out the TLS streams on them.
#[derive(Debug)]
pub struct TlsListener<L: Listener> {
    ready: mpsc::Receiver<(TlsStream<L::Io>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl<L: Listener<Addr = SocketAddr>> TlsListener<L> {
    /// Serves TLS with `config` on the connections of `inner`.
    pub fn new(mut inner: L, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = inner.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (sender, ready) = mpsc::channel(READY_BACKLOG);
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = inner.accept().await;
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl<L: Listener> Drop for TlsListener<L> {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl<L: Listener<Addr = SocketAddr>> Listener for TlsListener<L> {
    type Io = TlsStream<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

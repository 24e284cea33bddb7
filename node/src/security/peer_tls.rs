//! [`PeerTls`]: mutual TLS on the peer port (DESIGN §10). Every node serves
//! its certificate, issued by the cluster CA, and asks each caller for one
//! from the same CA; its own calls to peers present that certificate and
//! trust only that CA. A process without a cluster certificate is refused
//! at the handshake, before any Raft RPC, join or storage call is read.
//!
//! The node's certificate and key are reloaded like the client port's
//! ([`ReloadingCert`]); the CA is read at start (rotate it by giving every
//! node a bundle of the old and the new CA, restarting one at a time).

use std::sync::Arc;

use api::tls::{TlsError, provider, root_store};
use rustls::server::WebPkiClientVerifier;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SecurityError;
use super::reloading_cert::ReloadingCert;
use crate::config::security::PeerTlsFiles;

/// The two sides of this node's peer TLS.
#[derive(Debug, Clone)]
pub struct PeerTls {
    /// What the peer port's listener serves: client certificates required.
    pub server: Arc<rustls::ServerConfig>,
    /// What this node's peer calls use: its certificate, the cluster CA.
    pub client: Arc<rustls::ClientConfig>,
}

impl PeerTls {
    /// Loads the files and returns the task reloading the certificate until
    /// `shutdown`.
    pub fn start(
        files: &PeerTlsFiles,
        shutdown: &CancellationToken,
    ) -> Result<(Self, JoinHandle<()>), SecurityError> {
        let cert = ReloadingCert::load(files.own.clone()).map_err(SecurityError::Files)?;
        let roots = Arc::new(root_store(&files.ca)?);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(cert.clone());
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_root_certificates(roots)
            .with_client_cert_resolver(cert.clone());
        let watch = tokio::spawn(cert.watch(shutdown.clone()));
        Ok((
            Self {
                server: Arc::new(server),
                client: Arc::new(client),
            },
            watch,
        ))
    }
}

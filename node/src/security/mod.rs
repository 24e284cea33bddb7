//! Security of the ports (DESIGN §10; `docs/security.md`): TLS on the client
//! (and optionally metrics) port with a certificate reloaded on change,
//! mutual TLS on the peer port, and authentication with per-resource
//! authorization.
//!
//! - [`watched_files`]: files polled for changes, the last good load kept;
//! - [`reloading_cert`]: a certificate and key so watched;
//! - [`tls_listener`]: the TLS listener `axum::serve` takes, handshakes off
//!   the accept loop;
//! - [`peer_tls`]: the peer port's mutual TLS, both sides;
//! - [`auth`]: principals (API keys, JWTs) and the allow-rule policy;
//! - [`rate_limits`]: token buckets per client address and per principal,
//!   and [`stream_caps`]: open WebSocket streams per principal.
//!
//! [`ClientSecurity::start`] turns the settings into what the server needs and
//! the background tasks that watch the files.

pub mod auth;
pub mod peer_tls;
pub mod rate_limits;
pub mod reloading_cert;
pub mod stream_caps;
pub mod tls_listener;
pub mod watched_files;

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::auth::Gatekeeper;
use self::rate_limits::RateLimits;
use self::reloading_cert::ReloadingCert;
use crate::config::security::SecuritySettings;

/// What the client port needs to serve TLS and check credentials; the
/// default is neither.
#[derive(Debug, Clone, Default)]
pub struct ClientSecurity {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The gRPC port's TLS: the client port's certificate, offering HTTP/2.
    pub grpc_tls: Option<Arc<rustls::ServerConfig>>,
    /// The metrics port's TLS (the client port's certificate), when on.
    pub metrics_tls: Option<Arc<rustls::ServerConfig>>,
    pub auth: Option<Arc<Gatekeeper>>,
    pub limits: Option<Arc<RateLimits>>,
}

/// Why the security settings could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("TLS: {0}")]
    Tls(#[from] api::tls::TlsError),
    #[error("TLS: {0}")]
    Files(String),
    #[error("authentication: {0}")]
    Auth(String),
}

impl ClientSecurity {
    /// Loads the certificate and auth files of `settings`, and returns the
    /// tasks that reload them until `shutdown`.
    pub fn start(
        settings: &SecuritySettings,
        shutdown: &CancellationToken,
    ) -> Result<(Self, Vec<JoinHandle<()>>), SecurityError> {
        let mut tasks = Vec::new();
        let (tls, grpc_tls) = match &settings.tls {
            Some(files) => {
                let cert = ReloadingCert::load(files.clone()).map_err(SecurityError::Files)?;
                tasks.push(tokio::spawn(cert.clone().watch(shutdown.clone())));
                (
                    Some(server_config(cert.clone(), HTTP_1)?),
                    Some(server_config(cert, HTTP_2)?),
                )
            }
            None => (None, None),
        };
        let auth = match &settings.auth {
            Some(auth) => {
                let gate = Gatekeeper::load(auth.clone()).map_err(SecurityError::Auth)?;
                tasks.push(tokio::spawn(gate.clone().watch(shutdown.clone())));
                Some(gate)
            }
            None => None,
        };
        let limits = RateLimits::new(&settings.rate_limits).map(Arc::new);
        if let Some(limits) = &limits {
            tasks.push(tokio::spawn(limits.clone().sweep(shutdown.clone())));
        }
        let metrics_tls = tls.clone().filter(|_| settings.metrics_tls);
        Ok((
            Self {
                tls,
                grpc_tls,
                metrics_tls,
                auth,
                limits,
            },
            tasks,
        ))
    }
}

/// ALPN of the client and metrics ports: HTTP/1.1 (WebSocket upgrades need it).
pub const HTTP_1: &[u8] = b"http/1.1";
/// ALPN of the gRPC port: gRPC runs over HTTP/2 only.
pub const HTTP_2: &[u8] = b"h2";

/// A server config serving `cert`, offering the one ALPN protocol `alpn`.
pub fn server_config(
    cert: Arc<ReloadingCert>,
    alpn: &[u8],
) -> Result<Arc<rustls::ServerConfig>, api::tls::TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(api::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

//! [`PeerHttp`]: how this node calls its peers: plain HTTP, or HTTPS with
//! this node's certificate when the peer port runs mutual TLS.

use std::net::IpAddr;
use std::sync::Arc;

/// An HTTP client for peer calls and the scheme its URLs use.
#[derive(Debug, Clone)]
pub struct PeerHttp {
    client: reqwest::Client,
    scheme: &'static str,
}

impl PeerHttp {
    /// A client whose calls leave from `source_ip` (`None`: the OS chooses)
    /// and, with `tls`, speak HTTPS with that config (which holds this node's
    /// certificate and the cluster CA).
    pub fn new(
        source_ip: Option<IpAddr>,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Self, reqwest::Error> {
        // Peers are addressed directly; a proxy from the environment must not apply.
        let builder = reqwest::Client::builder()
            .no_proxy()
            .local_address(source_ip)
            .http1_only();
        let (builder, scheme) = match tls {
            Some(config) => (
                builder.tls_backend_preconfigured(rustls::ClientConfig::clone(config)),
                "https",
            ),
            None => (builder, "http"),
        };
        Ok(Self {
            client: builder.build()?,
            scheme,
        })
    }

    /// The URL of `path` on the peer at `addr` (`host:port`).
    pub fn url(&self, addr: &str, path: &str) -> String {
        format!("{}://{addr}{path}", self.scheme)
    }

    /// The client, to build a request to [`PeerHttp::url`].
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

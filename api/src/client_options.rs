//! [`ClientOptions`]: how the Rust client reaches a server (timeout, the CA
//! that signed an `https://` server's certificate, the credentials it sends,
//! the HTTP version),
//! and the [`Dialer`] built from them that the HTTP client
//! ([`crate::client`]) and the WebSocket client ([`crate::stream`]) share.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::client_error::ClientError;
use crate::tls;

/// A WebSocket connection of the client, over TCP or TLS.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest frame and message the client reads: above the server's largest
/// (a JSON message frame with a 10 MiB payload in base64, or an 8 MiB binary
/// deliveries frame), whatever tungstenite's defaults are.
const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;

/// How a [`crate::Client`] reaches its server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout of HTTP calls.
    pub timeout: Duration,
    /// PEM file of the CA certificates an `https://` server's certificate must
    /// chain to; without it, the system's trust store.
    pub ca_file: Option<PathBuf>,
    /// Sent as `Authorization: Bearer …` on every request and WebSocket
    /// upgrade: an API key or a JWT.
    pub token: Option<String>,
    /// Sends HTTP requests over HTTP/2 without negotiating it (prior
    /// knowledge, on `http://` and `https://` alike): the requests in flight
    /// share one connection instead of taking one each. The server's client
    /// port speaks both versions. WebSocket streams stay on HTTP/1.1.
    pub http2: bool,
}

impl ClientOptions {
    /// No CA file, no credentials, HTTP/1.1.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            ca_file: None,
            token: None,
            http2: false,
        }
    }
}

/// Opens the client's connections: HTTP requests and WebSocket upgrades, with
/// the same TLS config and credentials.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    /// `Some` for an `https://` server.
    tls: Option<Arc<rustls::ClientConfig>>,
    token: Option<String>,
}

impl Dialer {
    /// The dialer for `base` (already checked to be `http://` or `https://`).
    pub(crate) fn new(base: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let tls = if base.starts_with("https://") {
            Some(tls::client_config(options.ca_file.as_deref()).map_err(|e| {
                ClientError::InvalidUrl {
                    url: base.to_owned(),
                    reason: e.to_string(),
                }
            })?)
        } else {
            None
        };
        Ok(Self {
            tls,
            token: options.token.clone(),
        })
    }

    /// The TLS config of an `https://` server.
    pub(crate) fn tls(&self) -> Option<&rustls::ClientConfig> {
        self.tls.as_deref()
    }

    /// Opens a WebSocket to `url` (`ws://` or `wss://`), sending the credentials
    /// with the upgrade.
    pub(crate) async fn websocket(&self, url: &str) -> Result<Socket, ClientError> {
        let config = WebSocketConfig::default()
            .read_buffer_size(crate::stream::READ_BUFFER_BYTES)
            .max_frame_size(Some(MAX_FRAME_BYTES))
            .max_message_size(Some(MAX_FRAME_BYTES));
        let mut request = url.into_client_request().map_err(ws_error)?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| {
                ClientError::InvalidUrl {
                    url: url.to_owned(),
                    reason: format!("the token is not a valid header value: {e}"),
                }
            })?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = self.tls.clone().map(Connector::Rustls);
        let (socket, _response) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            false,
            connector,
        )
        .await
        .map_err(ws_error)?;
        Ok(socket)
    }
}

pub(crate) fn ws_error(e: tokio_tungstenite::tungstenite::Error) -> ClientError {
    ClientError::WebSocket(Box::new(e))
}

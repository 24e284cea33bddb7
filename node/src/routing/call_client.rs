//! The sending half of storage calls between nodes: one HTTP `POST` of an
//! encoded [`StorageCall`] to the owner's peer port.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use raft::peer::transport::PeerHttp;

use super::call_codec::{self, Envelope};
use super::{CALL_PATH, StorageCall, StorageReply};
use crate::storage::StorageError;
use crate::telemetry::context;
use tracing::Instrument;

/// Sends storage calls to partition owners over one pool of keep-alive
/// HTTP/1 connections.
#[derive(Debug, Clone)]
pub struct StorageClient {
    http: PeerHttp,
    timeout: Duration,
}

impl StorageClient {
    /// How long a call may take when the caller does not choose. Every call
    /// at this layer is short (a lease never waits for messages here).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A client over plain HTTP whose calls each give up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, StorageError> {
        Self::from_source(timeout, None, None)
    }

    /// Like [`StorageClient::new`], with calls leaving from `source_ip`
    /// (`None`: the OS chooses) and, with `tls`, over mutual TLS.
    pub fn from_source(
        timeout: Duration,
        source_ip: Option<IpAddr>,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Self, StorageError> {
        // reqwest builds a TLS config from the process's crypto provider.
        api::tls::install_default_provider();
        let http = PeerHttp::new(source_ip, tls).map_err(|e| StorageError::Unsupported {
            reason: format!("cannot build the peer storage HTTP client: {e}"),
        })?;
        Ok(Self { http, timeout })
    }

    /// Runs `call` on the node at `peer_addr` (`host:port`), telling it the
    /// metadata index this node has applied.
    ///
    /// Transport failures keep the storage error contract: a call that surely
    /// never ran is [`StorageError::Unavailable`]; a write whose answer was
    /// lost (timeout, dropped connection, unreadable answer) is
    /// [`StorageError::OutcomeUnknown`]; a read in that case is `Unavailable`.
    pub async fn send(
        &self,
        peer_addr: &str,
        applied_index: u64,
        call: &StorageCall,
    ) -> Result<StorageReply, StorageError> {
        let not_run = |reason: String| StorageError::Unavailable {
            reason: format!("{} on peer {peer_addr} did not run: {reason}", call.name()),
        };
        let lost = |reason: String| {
            let reason = format!("{} on peer {peer_addr}: {reason}", call.name());
            if call.writes() {
                StorageError::OutcomeUnknown { reason }
            } else {
                StorageError::Unavailable { reason }
            }
        };
        let body = call_codec::encode(&Envelope {
            applied_index,
            call,
        })
        .map_err(|e| not_run(format!("cannot encode it: {e}")))?;
        let span = tracing::info_span!(
            "forward",
            otel.name = format!("forward {}", call.name()),
            otel.kind = "client",
            server.address = peer_addr,
        );
        let sent = async {
            self.http
                .client()
                .post(self.http.url(peer_addr, CALL_PATH))
                .timeout(self.timeout)
                .headers(context::current_headers())
                .body(body)
                .send()
                .await
        }
        .instrument(span)
        .await;
        let response = match sent {
            Ok(response) => response,
            // No connection, so no request: the peer never saw it.
            Err(e) if e.is_connect() => return Err(not_run(format!("cannot connect: {e}"))),
            Err(e) if e.is_timeout() => {
                return Err(lost(format!("no answer within {:?}", self.timeout)));
            }
            Err(e) => return Err(lost(format!("connection failed: {e}"))),
        };
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            if e.is_timeout() {
                lost(format!("no answer within {:?}", self.timeout))
            } else {
                lost(format!("answer cut off: {e}"))
            }
        })?;
        if status.is_client_error() {
            // The receiver refused the request before running it (undecodable
            // body, too large, unknown path on an older peer).
            return Err(not_run(format!(
                "refused with HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        if !status.is_success() {
            return Err(lost(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        call_codec::decode::<Result<StorageReply, StorageError>>(&bytes)
            .map_err(|e| lost(format!("unreadable answer: {e}")))?
    }
}

//! The sending half of calls between nodes: one HTTP `POST` of an encoded
//! [`StorageCall`] (or a watch, `watch`) to the owner's peer port.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cluster::NodeId;
use raft::peer::transport::PeerHttp;
use reqwest::StatusCode;

use super::call_codec::{self, Envelope};
use super::peer_limits::{DEFAULT_MAX_IN_FLIGHT, PEER_NODE_HEADER};
use super::peer_slots::PeerSlots;
use super::{CALL_PATH, StorageCall, StorageReply};
use crate::storage::StorageError;
use crate::telemetry::context;
use crate::telemetry::routing_metrics::RoutingMetrics;
use tracing::Instrument;

/// Sends storage calls to partition owners over one pool of keep-alive
/// HTTP/1 connections.
#[derive(Debug, Clone)]
pub struct StorageClient {
    http: PeerHttp,
    timeout: Duration,
    /// This node's id, sent with every call so the owner can bound the calls
    /// in flight per caller; `None` in tests that call as no node.
    node: Option<NodeId>,
    metrics: RoutingMetrics,
    /// At most `--peer-max-in-flight` storage calls, and as many watches, in
    /// flight to each peer; the rest wait here ([`PeerSlots`]).
    calls: Arc<PeerSlots>,
    pub(super) watches: Arc<PeerSlots>,
}

/// Why a call got no answer: it surely did not run, or its answer was lost.
#[derive(Debug)]
pub(super) enum Failure {
    NotRun(String),
    Lost(String),
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
        Ok(Self {
            http,
            timeout,
            node: None,
            metrics: RoutingMetrics::default(),
            calls: Arc::new(PeerSlots::new("call", DEFAULT_MAX_IN_FLIGHT)),
            watches: Arc::new(PeerSlots::new("watch", DEFAULT_MAX_IN_FLIGHT)),
        })
    }

    /// Keeps at most `max` storage calls, and as many watches, in flight to
    /// each peer (the owners' `--peer-max-in-flight`); more wait for a slot.
    pub fn max_in_flight(self, max: usize) -> Self {
        Self {
            calls: Arc::new(PeerSlots::new("call", max)),
            watches: Arc::new(PeerSlots::new("watch", max)),
            ..self
        }
    }

    /// Calls as node `node`, counting each call in `metrics`.
    pub fn identified(self, node: NodeId, metrics: RoutingMetrics) -> Self {
        Self {
            node: Some(node),
            metrics,
            ..self
        }
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
        let failed = |failure: Failure| match failure {
            Failure::NotRun(reason) => StorageError::Unavailable {
                reason: format!("{} on peer {peer_addr} did not run: {reason}", call.name()),
            },
            Failure::Lost(reason) => {
                let reason = format!("{} on peer {peer_addr}: {reason}", call.name());
                if call.writes() {
                    StorageError::OutcomeUnknown { reason }
                } else {
                    StorageError::Unavailable { reason }
                }
            }
        };
        let body = call_codec::encode(&Envelope {
            applied_index,
            call,
        })
        .map_err(|e| failed(Failure::NotRun(format!("cannot encode it: {e}"))))?;
        let bytes = self
            .post(
                &self.calls,
                peer_addr,
                CALL_PATH,
                call.name(),
                body,
                self.timeout,
            )
            .await
            .map_err(failed)?;
        call_codec::decode::<Result<StorageReply, StorageError>>(&bytes)
            .map_err(|e| failed(Failure::Lost(format!("unreadable answer: {e}"))))?
    }

    /// `POST`s `body` to `path` on `peer_addr` once one of `slots` is free
    /// (waiting up to `timeout` for it), giving up after `timeout`; the
    /// answer's body when it is a 200.
    pub(super) async fn post(
        &self,
        slots: &PeerSlots,
        peer_addr: &str,
        path: &str,
        name: &'static str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, Failure> {
        let _slot = slots
            .acquire(peer_addr, timeout, &self.metrics)
            .await
            .map_err(|full| {
                Failure::NotRun(format!(
                    "this node had {} calls in flight to it for {:?} \
                 (--peer-max-in-flight)",
                    full.max, full.waited
                ))
            })?;
        self.metrics.sent(name);
        let span = tracing::info_span!(
            "forward",
            otel.name = format!("forward {name}"),
            otel.kind = "client",
            server.address = peer_addr,
        );
        let sent = async {
            let mut request = self
                .http
                .client()
                .post(self.http.url(peer_addr, path))
                .timeout(timeout)
                .headers(context::current_headers())
                .body(body);
            if let Some(node) = self.node {
                request = request.header(PEER_NODE_HEADER, node.get());
            }
            request.send().await
        }
        .instrument(span)
        .await;
        let response = match sent {
            Ok(response) => response,
            // No connection, so no request: the peer never saw it.
            Err(e) if e.is_connect() => {
                return Err(Failure::NotRun(format!("cannot connect: {e}")));
            }
            Err(e) if e.is_timeout() => {
                return Err(Failure::Lost(format!("no answer within {timeout:?}")));
            }
            Err(e) => return Err(Failure::Lost(format!("connection failed: {e}"))),
        };
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            if e.is_timeout() {
                Failure::Lost(format!("no answer within {timeout:?}"))
            } else {
                Failure::Lost(format!("answer cut off: {e}"))
            }
        })?;
        // The receiver refused the request before running it: an undecodable
        // body, too large, an unknown path on an older peer (4xx), or this
        // node had too many calls in flight there (503, `peer_limits`).
        if status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE {
            return Err(Failure::NotRun(format!(
                "refused with HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        if !status.is_success() {
            return Err(Failure::Lost(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        Ok(bytes)
    }
}

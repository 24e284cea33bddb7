//! Watches: a node waiting for messages of a topic whose partitions another
//! node owns asks that owner to answer when its wake-ups for the topic move
//! on, instead of looking again and again. Both halves of the call are here:
//! [`StorageClient::watch`] sends, [`serve`] answers on the owner.
//!
//! A `POST` to [`WATCH_PATH`] carries an encoded [`WatchRequest`]; the 200
//! answer is the encoded generation of the owner's last local wake-up for the
//! topic (`crate::broker::wakers`). The owner answers at once when its
//! generation differs from `since` (or `since` is `None`), otherwise at the
//! next local wake-up, or with the same generation once `wait_millis` (at most
//! [`MAX_WATCH_WAIT`]) passed. A watch changes nothing, so it is safe to drop
//! or repeat: a caller that goes away only leaves the owner waiting out the
//! bound.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cluster::TopicName;
use serde::{Deserialize, Serialize};

use super::StorageClient;
use super::call_client::Failure;
use super::call_codec;
use super::peer_limits::PeerLimits;
use crate::broker::wakers::TopicWakers;
use crate::storage::StorageError;

/// The peer-port path watches are `POST`ed to.
pub const WATCH_PATH: &str = "/storage/watch";

/// The longest an owner holds a watch, whatever the caller asks.
pub const MAX_WATCH_WAIT: Duration = Duration::from_secs(30);

/// How long a caller asks an owner to hold a watch: while nothing happens, one
/// watch per owner and topic every this often.
pub const WATCH_WAIT: Duration = Duration::from_secs(10);

/// A wait for the owner's next wake-up of `topic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRequest {
    pub topic: TopicName,
    /// The generation the caller saw last; `None` asks for the current one.
    pub since: Option<u64>,
    pub wait_millis: u64,
}

/// What the peer route needs to answer watches.
#[derive(Debug, Clone)]
pub(super) struct Watched {
    pub(super) wakers: Arc<TopicWakers>,
    pub(super) limits: PeerLimits,
}

/// Answers one watch (see the module docs).
pub(super) async fn serve(
    State(watched): State<Watched>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _permit = match watched.limits.admit(&headers) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    let request: WatchRequest = match call_codec::decode(&body) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let wait = Duration::from_millis(request.wait_millis).min(MAX_WATCH_WAIT);
    let until = tokio::time::Instant::now() + wait;
    let generation = loop {
        // Looked up each time: a deleted topic's waker is replaced.
        let waker = watched.wakers.waker(&request.topic);
        let woken = waker.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let generation = waker.generation();
        if request.since != Some(generation) {
            break generation;
        }
        tokio::select! {
            // A relay from another owner also lands here; the generation tells.
            () = &mut woken => {}
            () = tokio::time::sleep_until(until) => break waker.generation(),
        }
    };
    match call_codec::encode(&generation) {
        Ok(bytes) => bytes.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

impl StorageClient {
    /// Sends one watch to the owner at `peer_addr` and returns its
    /// generation. Any failure is [`StorageError::Unavailable`]: a watch
    /// changes nothing.
    pub async fn watch(
        &self,
        peer_addr: &str,
        request: &WatchRequest,
    ) -> Result<u64, StorageError> {
        let failed = |reason: String| StorageError::Unavailable {
            reason: format!("watch of {} on peer {peer_addr}: {reason}", request.topic),
        };
        let body = call_codec::encode(request).map_err(|e| failed(e.to_string()))?;
        let timeout = Duration::from_millis(request.wait_millis) + Self::DEFAULT_TIMEOUT;
        let bytes = self
            .post(&self.watches, peer_addr, WATCH_PATH, "watch", body, timeout)
            .await
            .map_err(|failure| match failure {
                Failure::NotRun(reason) | Failure::Lost(reason) => failed(reason),
            })?;
        call_codec::decode(&bytes).map_err(|e| failed(format!("unreadable answer: {e}")))
    }
}

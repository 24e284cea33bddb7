//! [`PeerLimits`]: at most so many calls of one kind in flight per calling
//! node on this node's peer port; beyond it the call is refused at once with
//! `503` and an `application/problem+json` body of code `UNAVAILABLE`, so a
//! slow owner holds a bounded amount of work for each peer and the caller
//! learns at once that the call did not run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use api::{ErrorCode, Problem};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::telemetry::routing_metrics::RoutingMetrics;

/// The header a calling node names itself in (its node id).
pub const PEER_NODE_HEADER: &str = "x-pubsub-peer-node";

/// The default of `--peer-max-in-flight`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Counts calls of one kind in flight per caller.
#[derive(Debug, Clone)]
pub struct PeerLimits {
    kind: &'static str,
    max: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    metrics: RoutingMetrics,
}

/// One admitted call; its slot is freed when dropped (also when the caller
/// goes away and the handler is dropped).
#[derive(Debug)]
pub struct PeerPermit {
    limits: PeerLimits,
    caller: String,
}

impl PeerLimits {
    /// At most `max` calls of `kind` (`call` or `watch`) in flight per caller.
    pub fn new(kind: &'static str, max: usize, metrics: RoutingMetrics) -> Self {
        Self {
            kind,
            max,
            in_flight: Arc::default(),
            metrics,
        }
    }

    /// Admits one call from the caller the headers name (callers that name
    /// none share one count), or answers the refusal to send back.
    pub fn admit(&self, headers: &HeaderMap) -> Result<PeerPermit, Refused> {
        let caller = headers
            .get(PEER_NODE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unnamed")
            .to_owned();
        let mut in_flight = self.lock();
        let count = in_flight.entry(caller.clone()).or_default();
        if *count >= self.max {
            drop(in_flight);
            self.metrics.refused(self.kind);
            return Err(Refused {
                caller,
                kind: self.kind,
                max: self.max,
            });
        }
        *count += 1;
        Ok(PeerPermit {
            limits: self.clone(),
            caller,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A call refused for its caller's cap; answered as `503` problem+json.
#[derive(Debug)]
pub struct Refused {
    caller: String,
    kind: &'static str,
    max: usize,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let problem = Problem::new(
            ErrorCode::Unavailable,
            format!(
                "node {caller} has {max} {kind}s in flight on this node, the most allowed \
                 (--peer-max-in-flight); this one did not run",
                caller = self.caller,
                max = self.max,
                kind = self.kind,
            ),
        );
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                ),
                (header::RETRY_AFTER, HeaderValue::from_static("1")),
            ],
            body,
        )
            .into_response()
    }
}

impl Drop for PeerPermit {
    fn drop(&mut self) {
        let mut in_flight = self.limits.lock();
        if let Some(count) = in_flight.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                in_flight.remove(&self.caller);
            }
        }
    }
}

//! The serving half of storage calls between nodes: the owner decodes a call,
//! catches up with the caller's metadata, checks that it still owns the
//! partition and runs the call on its own backend.
//!
//! A publish forwarded from another node never passed this node's publish
//! path, so its memory alarm is asked here: while it is raised, appends are
//! refused ([`StorageError::Overloaded`], `429` at the node the client
//! called) and every other call runs, so consumers drain as they do locally.
//! For the same reason a call that may make messages deliverable
//! ([`StorageCall::wakes`]) wakes this node's waiters and the watches of
//! other nodes (`watch`) once it ran.
//!
//! Each caller has at most `--peer-max-in-flight` calls and as many watches
//! in flight here ([`PeerLimits`]); every step of a call is bounded (the
//! catch-up by 2 s, each storage command by the backend's timeout), and the
//! caller gives up after its own timeout.

use std::sync::Arc;

use api::limits::MAX_BATCH_BYTES;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::call_codec::{self, Envelope};
use super::peer_limits::PeerLimits;
use super::watch::{self, WATCH_PATH, Watched};
use super::{CALL_PATH, Placement, Route, StorageCall, StorageReply};
use crate::broker::wakers::TopicWakers;
use crate::overload::budget::MemoryBudget;
use crate::storage::{FencedStorage, StorageError};
use crate::telemetry::routing_metrics::RoutingMetrics;
use crate::telemetry::{context, sampling};
use opentelemetry::trace::TraceContextExt;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Largest encoded call accepted. The largest call is an append of a full
/// publish batch: at most [`MAX_BATCH_BYTES`] of data and attributes, plus a
/// few bytes of lengths, times and ordering key per message (at most 1,000
/// keys of 1 KiB). Twice the batch limit covers that with room to spare.
pub const MAX_CALL_BYTES: usize = 2 * MAX_BATCH_BYTES;

#[derive(Clone)]
struct Owner {
    local: Arc<dyn FencedStorage>,
    placement: Arc<dyn Placement>,
    memory: Arc<MemoryBudget>,
    wakers: Arc<TopicWakers>,
    limits: PeerLimits,
}

/// The storage-call and watch routes for the peer port: runs calls for
/// partitions this node owns on `local`, answers [`StorageError::Moved`] for
/// the rest, and answers watches from `wakers`.
///
/// A `POST` to [`CALL_PATH`] carries an encoded call; a 200 answer carries
/// the encoded `Result<StorageReply, StorageError>`. Any other status means
/// the call did not run (4xx: the body was refused; 503: its caller has
/// `max_in_flight` calls in flight here, with a problem+json body) or its
/// answer could not be encoded (500), with a reason.
pub fn routes(
    local: Arc<dyn FencedStorage>,
    placement: Arc<dyn Placement>,
    memory: Arc<MemoryBudget>,
    wakers: Arc<TopicWakers>,
    max_in_flight: usize,
    metrics: RoutingMetrics,
) -> Router {
    let watches = Router::new()
        .route(WATCH_PATH, post(watch::serve))
        .with_state(Watched {
            wakers: wakers.clone(),
            limits: PeerLimits::new("watch", max_in_flight, metrics.clone()),
        });
    Router::new()
        .route(CALL_PATH, post(call))
        .layer(DefaultBodyLimit::max(MAX_CALL_BYTES))
        .with_state(Owner {
            local,
            placement,
            memory,
            wakers,
            limits: PeerLimits::new("call", max_in_flight, metrics),
        })
        .merge(watches)
}

async fn call(State(owner): State<Owner>, headers: HeaderMap, body: Bytes) -> Response {
    let _permit = match owner.limits.admit(&headers) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    let envelope: Envelope<StorageCall> = match call_codec::decode(&body) {
        Ok(envelope) => envelope,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    // The caller's `forward` span is this one's parent: one trace across
    // nodes. A call from an unsampled request carries no `traceparent`: then
    // neither this span nor the ones it opens reach OpenTelemetry.
    let parent = context::from_headers(&headers);
    let span = if parent.span().span_context().is_valid() {
        let span = tracing::info_span!(
            target: sampling::TRACED,
            "serve",
            otel.name = format!("serve {}", envelope.call.name()),
            otel.kind = "server",
        );
        let _ = span.set_parent(parent);
        span
    } else {
        tracing::info_span!("serve", call = envelope.call.name())
    };
    let result = run(&owner, envelope).instrument(span).await;
    match call_codec::encode(&result) {
        Ok(bytes) => bytes.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn run(
    owner: &Owner,
    Envelope {
        applied_index,
        call,
    }: Envelope<StorageCall>,
) -> Result<StorageReply, StorageError> {
    // Judge ownership no earlier than the caller's view: a node that has not
    // yet applied its own promotion must not send the caller away.
    owner.placement.caught_up_to(applied_index).await?;
    let partition = call.partition();
    match owner.placement.owner_route(partition).await? {
        // The epoch this node holds is the one it writes with; a stale one is
        // fenced by the backend.
        Route::Local { epoch } => {
            if matches!(
                call,
                StorageCall::Append { .. } | StorageCall::AppendWith { .. }
            ) && let Err(alarm) = owner.memory.admit_publish()
            {
                return Err(StorageError::Overloaded {
                    reason: alarm.to_string(),
                });
            }
            let topic = call.wakes().then(|| partition.topic.clone());
            let reply = call.run(owner.local.as_ref(), epoch).await;
            if let Some(topic) = topic
                && reply.is_ok()
            {
                owner.wakers.wake(&topic);
            }
            reply
        }
        Route::Remote { node, .. } => Err(StorageError::Moved {
            topic: partition.topic.to_string(),
            partition: partition.partition,
            owner: Some(node),
        }),
    }
}

//! The serving half of the peer protocol: an axum router that hands Raft RPCs
//! to the local Raft node, runs forwarded commands, read-index requests and
//! membership changes on it (when it leads), and passes join requests on to
//! the leader.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cluster::Command;
use openraft::ReadPolicy;
use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, LinearizableReadError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, TransferLeaderRequest, VoteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    APPEND, CHANGE_MEMBERSHIP, FOUNDER_STATUS, JOIN, JOIN_MEMBER, JoinRequest, MembershipChange,
    MembershipOutcome, PROPOSE, PeerStatus, ProposeOutcome, READ_INDEX, ReadIndexOutcome, SNAPSHOT,
    STATUS, TRANSFER_LEADER, VOTE,
};
use crate::leader_link::LeaderLink;
use crate::membership::change_locally;
use crate::types::{Raft, Snapshot, SnapshotData, SnapshotMeta, TypeConfig, Vote};
use crate::versioned_postcard;

/// Snapshots of the metadata are small, but a cap far above axum's 2 MiB
/// default keeps a large one from being refused mid-transfer.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The peer routes of the node `link` belongs to, served on its peer port.
pub(crate) fn router(link: LeaderLink) -> Router {
    Router::new()
        .route(APPEND, post(append))
        .route(VOTE, post(vote))
        .route(SNAPSHOT, post(snapshot))
        .route(PROPOSE, post(propose))
        .route(READ_INDEX, post(read_index))
        .route(STATUS, post(status))
        .route(FOUNDER_STATUS, post(founder_status))
        .route(TRANSFER_LEADER, post(transfer_leader))
        .route(JOIN, post(join))
        .route(JOIN_MEMBER, post(join_member))
        .route(CHANGE_MEMBERSHIP, post(change_membership))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(link)
}

/// Appends `command` through the local Raft node, which must lead. A leader
/// that cannot reach a quorum does not answer; after `timeout` the outcome is
/// unknown (the entry may be appended and commit later).
pub(crate) async fn write_locally(
    raft: &Raft,
    command: Command,
    timeout: Duration,
) -> ProposeOutcome {
    let Ok(written) = tokio::time::timeout(timeout, raft.client_write(command)).await else {
        return ProposeOutcome::Unknown {
            reason: format!("not committed within {timeout:?}"),
        };
    };
    match written {
        Ok(written) => match written.data {
            Some(result) => ProposeOutcome::Applied(result),
            // A normal entry always gets `Some` from the state machine.
            None => ProposeOutcome::Unknown {
                reason: "the state machine gave no outcome for a command".to_owned(),
            },
        },
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
            ProposeOutcome::NotLeader {
                leader: forward.leader_id,
            }
        }
        Err(RaftError::APIError(e @ ClientWriteError::LogEntryDiscarded(_))) => {
            ProposeOutcome::Unknown {
                reason: e.to_string(),
            }
        }
        Err(RaftError::APIError(e)) => ProposeOutcome::Unavailable {
            reason: e.to_string(),
        },
        // Raft stopped with the command in hand: its entry may be in the log,
        // and replicated, already.
        Err(RaftError::Fatal(fatal)) => ProposeOutcome::Unknown {
            reason: fatal.to_string(),
        },
    }
}

/// Confirms leadership with a quorum (ReadIndex) and returns the log id a
/// reader must have applied.
pub(crate) async fn read_index_locally(raft: &Raft, timeout: Duration) -> ReadIndexOutcome {
    let read = raft.ensure_linearizable(ReadPolicy::ReadIndex);
    let Ok(read) = tokio::time::timeout(timeout, read).await else {
        return ReadIndexOutcome::Unavailable {
            reason: format!("no quorum confirmed leadership within {timeout:?}"),
        };
    };
    match read {
        Ok(read) => ReadIndexOutcome::Ready(*read.log_id()),
        Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(forward))) => {
            ReadIndexOutcome::NotLeader {
                leader: forward.leader_id,
            }
        }
        Err(RaftError::APIError(e)) => ReadIndexOutcome::Unavailable {
            reason: e.to_string(),
        },
        Err(RaftError::Fatal(fatal)) => ReadIndexOutcome::Unavailable {
            reason: fatal.to_string(),
        },
    }
}

async fn append(
    State(peer): State<LeaderLink>,
    Encoded(request): Encoded<AppendEntriesRequest<TypeConfig>>,
) -> Response {
    let answer = peer.raft.append_entries(request).await;
    // Any answer but "your vote is stale" means a current leader reached us.
    if matches!(&answer, Ok(r) if !matches!(r, AppendEntriesResponse::HigherVote(_))) {
        *peer
            .last_append
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(std::time::Instant::now());
    }
    reply(answer)
}

/// A node with an empty log votes only while the group forms, when the
/// candidate holds nothing but the initial membership (index 0). Anywhere
/// else an empty log means this node lost its data dir: it may have voted in
/// this term already and forgotten it, and a second vote could elect two
/// leaders in one term. It votes again once it has rejoined (as a learner
/// first) and holds the log.
async fn vote(
    State(peer): State<LeaderLink>,
    Encoded(request): Encoded<VoteRequest<TypeConfig>>,
) -> Response {
    let empty = peer
        .raft
        .metrics()
        .borrow_watched()
        .last_log_index
        .is_none();
    if empty && request.last_log_id.as_ref().is_some_and(|id| id.index > 0) {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node's log is empty (a lost data dir?): it does not vote until it has rejoined"
                .to_owned(),
        );
    }
    reply(peer.raft.vote(request).await)
}

async fn snapshot(
    State(peer): State<LeaderLink>,
    Encoded((vote, meta, snapshot)): Encoded<(Vote, SnapshotMeta, SnapshotData)>,
) -> Response {
    let snapshot = Snapshot { meta, snapshot };
    reply(peer.raft.install_full_snapshot(vote, snapshot).await)
}

async fn propose(State(peer): State<LeaderLink>, Encoded(command): Encoded<Command>) -> Response {
    encoded(&write_locally(&peer.raft, command, peer.forward_timeout).await)
}

async fn read_index(State(peer): State<LeaderLink>) -> Response {
    encoded(&read_index_locally(&peer.raft, peer.forward_timeout).await)
}

async fn transfer_leader(
    State(peer): State<LeaderLink>,
    Encoded(request): Encoded<TransferLeaderRequest<TypeConfig>>,
) -> Response {
    reply(peer.raft.handle_transfer_leader(request).await)
}

/// Adds the requester as a voter through whichever node leads.
async fn join(State(peer): State<LeaderLink>, Encoded(request): Encoded<JoinRequest>) -> Response {
    forward_join(
        &peer,
        MembershipChange::Join {
            node_id: request.node_id,
            addr: request.addr,
        },
    )
    .await
}

/// Adds the requester as a non-voting member through whichever node leads.
async fn join_member(
    State(peer): State<LeaderLink>,
    Encoded(request): Encoded<JoinRequest>,
) -> Response {
    forward_join(
        &peer,
        MembershipChange::AddLearner {
            node_id: request.node_id,
            addr: request.addr,
        },
    )
    .await
}

async fn forward_join(peer: &LeaderLink, change: MembershipChange) -> Response {
    encoded(&MembershipOutcome::of(
        peer.change_membership(&change).await,
    ))
}

async fn change_membership(
    State(peer): State<LeaderLink>,
    Encoded(change): Encoded<MembershipChange>,
) -> Response {
    encoded(&change_locally(&peer.raft, &peer.applied, change, peer.membership_timeout).await)
}

/// [`status`], asked by the node that forms the group: a pristine node
/// remembers that it is one of the founders.
async fn founder_status(State(peer): State<LeaderLink>) -> Response {
    if matches!(peer.raft.is_initialized().await, Ok(false)) {
        peer.asked_to_found.store(true, Ordering::SeqCst);
    }
    status(State(peer)).await
}

async fn status(State(peer): State<LeaderLink>) -> Response {
    match peer.raft.is_initialized().await {
        Ok(has_state) => encoded(&PeerStatus {
            node_id: peer.node_id,
            has_state,
        }),
        Err(fatal) => refuse(StatusCode::SERVICE_UNAVAILABLE, fatal.to_string()),
    }
}

/// A request body in the peer encoding; a body that does not decode is
/// refused with 400.
struct Encoded<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Encoded<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        versioned_postcard::decode(&body)
            .map(Encoded)
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, e.to_string()))
    }
}

/// A Raft call's result: the value, or 503 when the local Raft has stopped.
fn reply<T: Serialize, E: std::fmt::Display>(result: Result<T, E>) -> Response {
    match result {
        Ok(value) => encoded(&value),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn encoded<T: Serialize>(value: &T) -> Response {
    match versioned_postcard::encode(value) {
        Ok(bytes) => bytes.into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn refuse(status: StatusCode, reason: String) -> Response {
    (status, reason).into_response()
}

//! The sending half of the peer protocol: openraft's network (one
//! [`PeerClient`] per target) and the forwarding calls the
//! [`Consensus`](crate::Consensus) handle makes.

use std::future::Future;
use std::time::Duration;

use cluster::Command;
use openraft::errors::{
    NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::v2::RaftNetworkV2;
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse};
use openraft::raft::{TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse};
use openraft::{OptionalSend, RPCTypes};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::transport::PeerHttp;
use super::{
    APPEND, CHANGE_MEMBERSHIP, FOUNDER_STATUS, JOIN, JOIN_MEMBER, JoinRequest, MembershipChange,
    MembershipOutcome, PROPOSE, PeerStatus, ProposeOutcome, READ_INDEX, ReadIndexOutcome, SNAPSHOT,
    STATUS, TRANSFER_LEADER, VOTE,
};
use crate::types::{NodeId, Peer, Snapshot, SnapshotData, TypeConfig, Vote};
use crate::versioned_postcard;

/// Why a peer call failed, split by what the caller may assume.
#[derive(Debug, thiserror::Error)]
pub enum PeerCallError {
    /// The request never reached the peer (connection refused, no route).
    #[error("peer {addr} is unreachable: {source}")]
    Unreachable {
        addr: String,
        #[source]
        source: reqwest::Error,
    },
    /// No answer in time; the peer may have acted on the request.
    #[error("peer {addr} did not answer within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    /// The request may have reached the peer, but no usable answer came back.
    #[error("peer {addr} failed the request: {reason}")]
    Failed { addr: String, reason: String },
}

/// Sends one encoded request to `addr` and decodes the answer.
pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
    http: &PeerHttp,
    addr: &str,
    path: &str,
    request: &Req,
    timeout: Duration,
) -> Result<Resp, PeerCallError> {
    let failed = |reason: String| PeerCallError::Failed {
        addr: addr.to_owned(),
        reason,
    };
    let body = versioned_postcard::encode(request).map_err(|e| failed(e.to_string()))?;
    let sent = http
        .client()
        .post(http.url(addr, path))
        .timeout(timeout)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_connect() => {
            return Err(PeerCallError::Unreachable {
                addr: addr.to_owned(),
                source: e,
            });
        }
        Err(e) if e.is_timeout() => {
            return Err(PeerCallError::Timeout {
                addr: addr.to_owned(),
                timeout,
            });
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        if e.is_timeout() {
            PeerCallError::Timeout {
                addr: addr.to_owned(),
                timeout,
            }
        } else {
            failed(e.to_string())
        }
    })?;
    if !status.is_success() {
        return Err(failed(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        )));
    }
    versioned_postcard::decode(&bytes).map_err(|e| failed(e.to_string()))
}

/// Forwards a command to the node at `addr`.
pub(crate) async fn propose(
    http: &PeerHttp,
    addr: &str,
    command: &Command,
    timeout: Duration,
) -> Result<ProposeOutcome, PeerCallError> {
    call(http, addr, PROPOSE, command, timeout).await
}

/// Asks the node at `addr` for a read index.
pub(crate) async fn read_index(
    http: &PeerHttp,
    addr: &str,
    timeout: Duration,
) -> Result<ReadIndexOutcome, PeerCallError> {
    call(http, addr, READ_INDEX, &(), timeout).await
}

/// Asks the node at `addr` who it is and whether it has Raft state.
pub(crate) async fn status(
    http: &PeerHttp,
    addr: &str,
    timeout: Duration,
) -> Result<PeerStatus, PeerCallError> {
    call(http, addr, STATUS, &(), timeout).await
}

/// [`status`], asked as the node that forms the group of one of its founders.
pub(crate) async fn founder_status(
    http: &PeerHttp,
    addr: &str,
    timeout: Duration,
) -> Result<PeerStatus, PeerCallError> {
    call(http, addr, FOUNDER_STATUS, &(), timeout).await
}

/// Asks the node at `addr` to add the requester to the group, through
/// whichever node leads.
pub(crate) async fn join(
    http: &PeerHttp,
    addr: &str,
    request: &JoinRequest,
    timeout: Duration,
) -> Result<MembershipOutcome, PeerCallError> {
    call(http, addr, JOIN, request, timeout).await
}

/// Asks the node at `addr` to add the requester as a non-voting member,
/// through whichever node leads.
pub(crate) async fn join_member(
    http: &PeerHttp,
    addr: &str,
    request: &JoinRequest,
    timeout: Duration,
) -> Result<MembershipOutcome, PeerCallError> {
    call(http, addr, JOIN_MEMBER, request, timeout).await
}

/// Forwards a membership change to the node at `addr`.
pub(crate) async fn change_membership(
    http: &PeerHttp,
    addr: &str,
    change: &MembershipChange,
    timeout: Duration,
) -> Result<MembershipOutcome, PeerCallError> {
    call(http, addr, CHANGE_MEMBERSHIP, change, timeout).await
}

/// openraft's network factory: a [`PeerClient`] per target, sharing one
/// connection pool that is kept apart from client-command forwarding.
#[derive(Debug, Clone)]
pub struct PeerNetwork {
    node_id: NodeId,
    http: PeerHttp,
}

impl PeerNetwork {
    pub fn new(node_id: NodeId, http: PeerHttp) -> Self {
        Self { node_id, http }
    }
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Peer) -> PeerClient {
        // No connection yet: reqwest connects on the first request.
        PeerClient {
            node_id: self.node_id,
            target,
            addr: node.addr.clone(),
            http: self.http.clone(),
        }
    }
}

/// Raft RPCs to one peer.
#[derive(Debug)]
pub struct PeerClient {
    node_id: NodeId,
    target: NodeId,
    addr: String,
    http: PeerHttp,
}

impl PeerClient {
    async fn rpc<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        action: RPCTypes,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>> {
        let timeout = option.soft_ttl();
        call(&self.http, &self.addr, path, request, timeout)
            .await
            .map_err(|e| match e {
                // openraft backs off from an unreachable peer instead of retrying at once.
                PeerCallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
                PeerCallError::Timeout { .. } => RPCError::Timeout(Timeout {
                    action,
                    id: self.node_id,
                    target: self.target,
                    timeout,
                }),
                // A peer whose Raft stopped answers 503: also back off.
                PeerCallError::Failed { .. } => RPCError::Network(NetworkError::new(&e)),
            })
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RPCTypes::AppendEntries, APPEND, &request, &option)
            .await
    }

    async fn vote(
        &mut self,
        request: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RPCTypes::Vote, VOTE, &request, &option).await
    }

    async fn transfer_leader(
        &mut self,
        request: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RPCTypes::TransferLeader, TRANSFER_LEADER, &request, &option)
            .await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let request = (vote, snapshot.meta, snapshot.snapshot);
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            sent = self.rpc(RPCTypes::InstallSnapshot, SNAPSHOT, &request, &option) => Ok(sent?),
        }
    }
}

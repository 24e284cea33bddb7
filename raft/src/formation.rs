//! Forming the group on first start, or joining it, safely.
//!
//! A node with Raft state (a vote or log entries) never initializes: a
//! restart can not start a second cluster. It only keeps joining if it is
//! still a learner (a join cut short). A pristine node probes every listed
//! peer until it is a voter:
//! - once any peer has state (a group exists), it asks such a peer to add it;
//!   the peer forwards the request to the leader, which catches it up as a
//!   learner and promotes it. A node that lost its disk asks the same way and
//!   is simply replicated to again, under its old id.
//! - else, if it has the lowest id, it initializes the group with the
//!   `bootstrap_expect` lowest listed ids as voters, but only once each of
//!   those answers, is who the list says, and has no state.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{InitializeError, RaftError};

use crate::peer::client;
use crate::peer::{JoinRequest, MembershipOutcome, PeerStatus};
use crate::types::{NodeId, Peer, Raft};

/// How often a pristine node asks its peers again.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Who forms the group and how to reach them.
#[derive(Debug, Clone)]
pub(crate) struct Formation {
    pub node_id: NodeId,
    /// Every listed node by id; this node is always included.
    pub members: BTreeMap<NodeId, String>,
    /// How many of the lowest ids in `members` form the group.
    pub voters_to_form: usize,
    pub http: crate::peer::transport::PeerHttp,
    /// Bounds one join request, which waits for the leader to catch this
    /// node up and promote it.
    pub join_timeout: Duration,
}

/// What a peer said when probed: its status, or why it did not answer.
type Census = BTreeMap<NodeId, Result<PeerStatus, String>>;

impl Formation {
    /// Returns once this node is a voter, or at once if it has state and is
    /// not a learner.
    pub(crate) async fn run(self, raft: Raft) {
        match raft.is_initialized().await {
            Ok(false) => {}
            Ok(true) if self.is_learner(&raft) => {
                tracing::info!(
                    node_id = self.node_id.get(),
                    "a learner: asking to become a voter"
                );
            }
            Ok(true) => return,
            Err(fatal) => {
                tracing::warn!(error = %fatal, "raft stopped before the group formed");
                return;
            }
        }
        loop {
            if self.is_voter(&raft) {
                tracing::info!(node_id = self.node_id.get(), "this node is a voter");
                return;
            }
            let census = self.probe().await;
            let with_state: Vec<NodeId> = census
                .iter()
                .filter(|(_, status)| status.as_ref().is_ok_and(|s| s.has_state))
                .map(|(&id, _)| id)
                .collect();
            if !with_state.is_empty() {
                self.join(&raft, &with_state).await;
            } else if self.forms_the_group() {
                match self.founders_ready(&census) {
                    Ok(()) => self.initialize(&raft).await,
                    Err(waiting_for) => {
                        tracing::debug!(%waiting_for, "not all founders are ready to form the group")
                    }
                }
            }
            if !self.is_voter(&raft) {
                tokio::time::sleep(PROBE_INTERVAL).await;
            }
        }
    }

    fn is_voter(&self, raft: &Raft) -> bool {
        let metrics = raft.metrics();
        let metrics = metrics.borrow_watched();
        metrics
            .membership_config
            .membership()
            .voter_ids()
            .any(|id| id == self.node_id)
    }

    fn is_learner(&self, raft: &Raft) -> bool {
        let metrics = raft.metrics();
        let metrics = metrics.borrow_watched();
        metrics
            .membership_config
            .membership()
            .learner_ids()
            .any(|id| id == self.node_id)
    }

    /// Asks every other listed node who it is and whether it has state.
    async fn probe(&self) -> Census {
        let others = self.members.iter().filter(|(id, _)| **id != self.node_id);
        let asked = others.map(|(&id, addr)| async move {
            let status = client::status(&self.http, addr, PROBE_TIMEOUT)
                .await
                .map_err(|e| e.to_string());
            (id, status)
        });
        futures::future::join_all(asked).await.into_iter().collect()
    }

    /// The lowest listed id forms the group.
    fn forms_the_group(&self) -> bool {
        self.members.keys().next() == Some(&self.node_id)
    }

    /// The ids that form the group: the lowest `voters_to_form` listed.
    fn founders(&self) -> impl Iterator<Item = (&NodeId, &String)> {
        self.members.iter().take(self.voters_to_form)
    }

    /// `Ok` when every other founder answered as itself, without state.
    fn founders_ready(&self, census: &Census) -> Result<(), String> {
        for (&id, addr) in self.founders().filter(|(id, _)| **id != self.node_id) {
            match census.get(&id) {
                Some(Ok(status)) if status.node_id != id => {
                    return Err(format!(
                        "{addr} is node {}, but the peer list says {id}",
                        status.node_id
                    ));
                }
                Some(Ok(_)) => {}
                Some(Err(reason)) => return Err(reason.clone()),
                None => return Err(format!("node {id} was not probed")),
            }
        }
        Ok(())
    }

    async fn initialize(&self, raft: &Raft) {
        let voters: BTreeMap<NodeId, Peer> = self
            .founders()
            .map(|(&id, addr)| (id, Peer { addr: addr.clone() }))
            .collect();
        let ids: Vec<NodeId> = voters.keys().copied().collect();
        match raft.initialize(voters).await {
            Ok(()) => {
                tracing::info!(voters = ?ids, "formed the metadata group");
                // Elect now instead of after an election timeout: the other
                // founders are pristine and grant the vote.
                if let Err(e) = raft.trigger().elect(false).await {
                    tracing::warn!(error = %e, "cannot start the first election");
                }
            }
            Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
                tracing::info!(reason = %e, "the group was already formed")
            }
            Err(e) => tracing::error!(error = %e, "cannot form the metadata group"),
        }
    }

    /// Asks the peers that have state, in turn, to add this node, until one
    /// says it is done; then waits briefly for the membership to arrive here.
    async fn join(&self, raft: &Raft, with_state: &[NodeId]) {
        let request = JoinRequest {
            node_id: self.node_id,
            addr: self.members[&self.node_id].clone(),
        };
        for id in with_state {
            let addr = &self.members[id];
            tracing::info!(via = id.get(), "asking to join the metadata group");
            match client::join(&self.http, addr, &request, self.join_timeout).await {
                Ok(MembershipOutcome::Done) => {
                    let arrived = raft
                        .wait(Some(self.join_timeout))
                        .metrics(
                            |m| {
                                m.membership_config
                                    .membership()
                                    .voter_ids()
                                    .any(|v| v == self.node_id)
                            },
                            "this node a voter",
                        )
                        .await;
                    if arrived.is_ok() {
                        tracing::info!("joined the metadata group");
                    }
                    return;
                }
                Ok(outcome) => tracing::info!(via = id.get(), ?outcome, "the join did not finish"),
                Err(e) => tracing::info!(via = id.get(), error = %e, "the join request failed"),
            }
        }
    }
}

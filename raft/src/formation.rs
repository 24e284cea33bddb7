//! Forming the group on first start, or joining it, safely.
//!
//! A node with Raft state (a vote or log entries) never initializes: a
//! restart can not start a second cluster. A listed voter only keeps joining
//! if it is still a learner (a join cut short). A node outside the voter set
//! (a non-voting member) never forms the group: it asks to be added as a
//! learner until the membership names it, also when it has state but left
//! the membership (it drained before an earlier stop). A pristine voter
//! probes every listed peer until it is a voter:
//! - once any peer has state (a group exists), it asks such a peer to add it;
//!   the peer forwards the request to the leader, which catches it up as a
//!   learner and promotes it. A node that lost its disk asks the same way,
//!   also if the leader replicated to it meanwhile (it opened its data dir
//!   pristine); a leader whose metadata has it registered knows it had
//!   state, and makes it a learner until it caught up (`membership`). A
//!   founder does not ask: the forming node asked it to found the group
//!   (`FOUNDER_STATUS`), so the group it finds is its own, and it may have
//!   registered before it would ask.
//! - else, if it has the lowest id, it initializes the group with the
//!   `bootstrap_expect` lowest listed ids as voters, but only once each of
//!   those answers, is who the list says, and has no state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Whether this node is one of the fixed voters; otherwise it joins as a
    /// non-voting member.
    pub voter: bool,
    /// The data dir held no Raft state when the node opened it. Such a voter
    /// asks to join once a group exists, even if the leader replicated to it
    /// meanwhile: that is how the leader learns that a voter it registered
    /// lost its disk (and makes it a learner until it caught up).
    pub pristine: bool,
    /// Set when the forming node asked this pristine node to found the group.
    pub asked_to_found: Arc<AtomicBool>,
}

/// What a peer said when probed: its status, or why it did not answer.
type Census = BTreeMap<NodeId, Result<PeerStatus, String>>;

impl Formation {
    /// Returns once this node is a voter, or at once if it has state and is
    /// not a learner; a non-voting member returns once it is a learner.
    pub(crate) async fn run(self, raft: Raft) {
        if !self.voter {
            return self.run_as_member(raft).await;
        }
        match raft.is_initialized().await {
            Ok(false) => {}
            Ok(true) if self.is_learner(&raft) => {
                tracing::info!(
                    node_id = self.node_id.get(),
                    "a learner: asking to become a voter"
                );
            }
            Ok(true) if self.pristine => {}
            Ok(true) => return,
            Err(fatal) => {
                tracing::warn!(error = %fatal, "raft stopped before the group formed");
                return;
            }
        }
        // A pristine voter asks to join once, even if it is a voter already.
        let mut asked = !self.pristine;
        loop {
            if asked && self.is_voter(&raft) {
                tracing::info!(node_id = self.node_id.get(), "this node is a voter");
                return;
            }
            let census = self.probe().await;
            let with_state: Vec<NodeId> = census
                .iter()
                .filter(|(_, status)| status.as_ref().is_ok_and(|s| s.has_state))
                .map(|(&id, _)| id)
                .collect();
            if !with_state.is_empty() && !asked && self.asked_to_found.load(Ordering::SeqCst) {
                tracing::info!(
                    node_id = self.node_id.get(),
                    "the group this node was asked to found exists: waiting to be a voter"
                );
                asked = true;
            } else if !with_state.is_empty() {
                asked = self.join(&raft, &with_state).await || asked;
            } else if self.forms_the_group() {
                match self.founders_ready(&census) {
                    // The group it forms is new: nothing to ask anyone.
                    Ok(()) => asked = self.initialize(&raft).await || asked,
                    Err(waiting_for) => {
                        tracing::debug!(%waiting_for, "not all founders are ready to form the group")
                    }
                }
            }
            if !(asked && self.is_voter(&raft)) {
                tokio::time::sleep(PROBE_INTERVAL).await;
            }
        }
    }

    /// Asks the peers with state, in turn, to add this node as a learner,
    /// until one says it is done and the membership names it. It asks even
    /// when its own log names it a learner: a member that drained was taken
    /// out by an entry the leader may never have sent it (replication to it
    /// stops with that entry), so its own log still says learner, and a
    /// node that believed it would wait forever for entries no one sends.
    /// For a learner the leader still knows, the request changes nothing.
    async fn run_as_member(self, raft: Raft) {
        let mut asked = false;
        loop {
            if asked && (self.is_learner(&raft) || self.is_voter(&raft)) {
                tracing::info!(
                    node_id = self.node_id.get(),
                    "this node is a member of the group"
                );
                return;
            }
            let census = self.probe().await;
            for (&id, status) in &census {
                if !status.as_ref().is_ok_and(|s| s.has_state) {
                    continue;
                }
                if self.join_as(&raft, id, false).await {
                    asked = true;
                    break;
                }
            }
            if !(asked && (self.is_learner(&raft) || self.is_voter(&raft))) {
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

    /// Asks every other listed node who it is and whether it has state; the
    /// forming node asks its founders as such.
    async fn probe(&self) -> Census {
        let founders: Vec<NodeId> = if self.forms_the_group() {
            self.founders().map(|(&id, _)| id).collect()
        } else {
            Vec::new()
        };
        let others = self.members.iter().filter(|(id, _)| **id != self.node_id);
        let asked = others.map(|(&id, addr)| {
            let founder = founders.contains(&id);
            async move {
                let status = if founder {
                    client::founder_status(&self.http, addr, PROBE_TIMEOUT).await
                } else {
                    client::status(&self.http, addr, PROBE_TIMEOUT).await
                };
                (id, status.map_err(|e| e.to_string()))
            }
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

    /// Returns whether this node formed the group.
    async fn initialize(&self, raft: &Raft) -> bool {
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
                true
            }
            Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
                tracing::info!(reason = %e, "the group was already formed");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot form the metadata group");
                false
            }
        }
    }

    /// Asks the peers that have state, in turn, to add this node as a voter,
    /// until one says it is done; returns whether one did.
    async fn join(&self, raft: &Raft, with_state: &[NodeId]) -> bool {
        for &id in with_state {
            if self.join_as(raft, id, true).await {
                return true;
            }
        }
        false
    }

    /// Asks peer `via` to add this node (as a voter, or as a learner when not
    /// `voter`); when it says it is done, waits briefly for the membership to
    /// arrive here. Returns whether the peer said it is done.
    async fn join_as(&self, raft: &Raft, via: NodeId, voter: bool) -> bool {
        let request = JoinRequest {
            node_id: self.node_id,
            addr: self.members[&self.node_id].clone(),
        };
        let addr = &self.members[&via];
        tracing::info!(via = via.get(), voter, "asking to join the metadata group");
        let asked = if voter {
            client::join(&self.http, addr, &request, self.join_timeout).await
        } else {
            client::join_member(&self.http, addr, &request, self.join_timeout).await
        };
        match asked {
            Ok(MembershipOutcome::Done) => {
                let me = self.node_id;
                let arrived = raft
                    .wait(Some(self.join_timeout))
                    .metrics(
                        |m| {
                            let membership = m.membership_config.membership();
                            membership.voter_ids().any(|v| v == me)
                                || (!voter && membership.learner_ids().any(|l| l == me))
                        },
                        "this node in the membership",
                    )
                    .await;
                if arrived.is_ok() {
                    tracing::info!(voter, "joined the metadata group");
                }
                true
            }
            Ok(outcome) => {
                tracing::info!(via = via.get(), ?outcome, "the join did not finish");
                false
            }
            Err(e) => {
                tracing::info!(via = via.get(), error = %e, "the join request failed");
                false
            }
        }
    }
}

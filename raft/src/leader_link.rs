//! [`LeaderLink`]: reaching the current leader from any node. It waits for a
//! leader to be known, finds its peer address, runs a request there (locally
//! when this node leads, else over the peer port) and tries once more when
//! the leader changed before the request was acted on.
//!
//! Both the [`Consensus`](crate::Consensus) handle and the peer router (for
//! [`JOIN`](crate::peer::JOIN), which any member accepts) go through it.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::RaftMetrics;
use openraft::async_runtime::WatchReceiver;

use crate::error::ConsensusError;
use crate::membership;
use crate::peer::client::{self, PeerCallError};
use crate::peer::{MembershipChange, MembershipOutcome};
use crate::state_machine::AppliedMetadata;
use crate::types::{NodeId, Raft, TypeConfig};

/// One node's way to its leader. Cloning shares the Raft node.
#[derive(Debug, Clone)]
pub(crate) struct LeaderLink {
    pub(crate) node_id: NodeId,
    pub(crate) raft: Raft,
    /// Forwarding has its own pool, apart from Raft's replication traffic.
    pub(crate) http: crate::peer::transport::PeerHttp,
    /// Bounds a forwarded command or read-index request.
    pub(crate) forward_timeout: Duration,
    /// How long to wait for a leader to become known.
    pub(crate) leader_wait: Duration,
    /// Bounds a membership change on the leader.
    pub(crate) membership_timeout: Duration,
    /// When this node last accepted entries or a heartbeat from a leader.
    pub(crate) last_append: Arc<Mutex<Option<Instant>>>,
    /// The metadata as applied here: the leader tells a voter that lost its
    /// disk (it was registered) from a founder still forming the group.
    pub(crate) applied: Arc<AppliedMetadata>,
    /// The node that forms the group asked this node, pristine then, to be
    /// one of its founders: formation then knows that the group it finds is
    /// the one it founds, not one that existed before it lost its disk.
    pub(crate) asked_to_found: Arc<AtomicBool>,
}

/// A step of a request that did not reach a usable answer.
pub(crate) enum Attempt<T> {
    Done(T),
    /// Surely not acted on: try again once a (new) leader is known.
    Retry {
        reason: String,
        hint: Option<NodeId>,
    },
    Failed(ConsensusError),
}

impl LeaderLink {
    /// How long a caller waits for a forwarded membership change: the
    /// leader's own bound plus the trip there and back.
    pub(crate) fn membership_call_timeout(&self) -> Duration {
        self.membership_timeout + self.forward_timeout
    }

    /// Runs `change` on the leader (here, or forwarded to it).
    pub(crate) async fn change_membership(
        &self,
        change: &MembershipChange,
    ) -> Result<(), ConsensusError> {
        self.with_leader(|leader| async move {
            let outcome = match leader {
                None => {
                    membership::change_locally(
                        &self.raft,
                        &self.applied,
                        change.clone(),
                        self.membership_timeout,
                    )
                    .await
                }
                Some(addr) => {
                    let sent = client::change_membership(
                        &self.http,
                        &addr,
                        change,
                        self.membership_call_timeout(),
                    )
                    .await;
                    match sent {
                        Ok(outcome) => outcome,
                        Err(e) => return forward_failed(e),
                    }
                }
            };
            match outcome {
                MembershipOutcome::Done => Attempt::Done(()),
                MembershipOutcome::NotLeader { leader } => Attempt::Retry {
                    reason: "the leader changed".to_owned(),
                    hint: leader,
                },
                MembershipOutcome::Refused { reason } => {
                    Attempt::Failed(ConsensusError::Refused { reason })
                }
                MembershipOutcome::Unknown { reason } => {
                    Attempt::Failed(ConsensusError::OutcomeUnknown { reason })
                }
                MembershipOutcome::Unavailable { reason } => {
                    Attempt::Failed(ConsensusError::Unavailable { reason })
                }
            }
        })
        .await
    }

    /// Runs `attempt` against the leader (`None`: this node leads; `Some`: the
    /// leader's peer address), once more if it asks for a retry.
    pub(crate) async fn with_leader<T, F, Fut>(&self, attempt: F) -> Result<T, ConsensusError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut avoid = None;
        let mut hint = None;
        let mut last_reason = String::new();
        for _ in 0..2 {
            let leader = self.await_leader(avoid, hint).await?;
            let target = if leader == self.node_id {
                None
            } else {
                Some(self.address_of(leader).await?)
            };
            match attempt(target).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Failed(e) => return Err(e),
                Attempt::Retry { reason, hint: next } => {
                    tracing::debug!(leader = leader.get(), %reason, "retrying with a new leader");
                    avoid = Some(leader);
                    hint = next.filter(|&next| next != leader);
                    last_reason = reason;
                }
            }
        }
        Err(ConsensusError::NoLeader {
            reason: last_reason,
        })
    }

    /// A leader to send to: `hint` if given, else the known leader, waiting
    /// (up to `leader_wait`) for one other than `avoid` if that is set.
    async fn await_leader(
        &self,
        avoid: Option<NodeId>,
        hint: Option<NodeId>,
    ) -> Result<NodeId, ConsensusError> {
        if let Some(hint) = hint {
            return Ok(hint);
        }
        let wanted = |m: &RaftMetrics<TypeConfig>| {
            m.current_leader.is_some() && (avoid.is_none() || m.current_leader != avoid)
        };
        let waited = self
            .raft
            .wait(Some(self.leader_wait))
            .metrics(wanted, "a known leader")
            .await;
        match waited {
            Ok(m) => m.current_leader.ok_or_else(no_leader),
            // The old leader may still lead after all: try it rather than fail.
            Err(_) => self.leader().ok_or_else(no_leader),
        }
    }

    /// The leader this node knows of, if any.
    fn leader(&self) -> Option<NodeId> {
        // Clone at once: a borrow held across an await can stall Raft (#1238).
        self.raft.metrics().borrow_watched().current_leader
    }

    /// The peer address of `leader`. A follower can learn who leads (from a
    /// vote or heartbeat) before the membership entry naming the leader's
    /// address reaches it, so wait briefly for that entry.
    async fn address_of(&self, leader: NodeId) -> Result<String, ConsensusError> {
        let address = |m: &RaftMetrics<TypeConfig>| {
            m.membership_config
                .membership()
                .get_node(&leader)
                .map(|peer| peer.addr.clone())
        };
        let known = self
            .raft
            .wait(Some(self.leader_wait))
            .metrics(|m| address(m).is_some(), "the leader's address")
            .await;
        known
            .ok()
            .and_then(|m| address(&m))
            .ok_or_else(|| ConsensusError::NoLeader {
                reason: format!("the address of leader {leader} is not known"),
            })
    }
}

fn no_leader() -> ConsensusError {
    ConsensusError::NoLeader {
        reason: "no leader was elected in time".to_owned(),
    }
}

/// A forwarded request that got no answer: retry only if it surely did not
/// arrive.
pub(crate) fn forward_failed<T>(e: PeerCallError) -> Attempt<T> {
    match e {
        PeerCallError::Unreachable { .. } => Attempt::Retry {
            reason: e.to_string(),
            hint: None,
        },
        PeerCallError::Timeout { .. } | PeerCallError::Failed { .. } => {
            Attempt::Failed(ConsensusError::OutcomeUnknown {
                reason: e.to_string(),
            })
        }
    }
}

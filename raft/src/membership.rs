//! Changing the membership, on the leader: add a voter (catch it up as a
//! learner, then promote it), add a non-voting member (a learner that stays
//! one), or remove a node. All are idempotent, so a joining node or an
//! operator can simply send them again.
//!
//! openraft runs one membership change at a time: a change waits (within its
//! timeout) for the one before it to commit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::errors::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, ServerState};

use crate::peer::{MembershipChange, MembershipOutcome};
use crate::state_machine::AppliedMetadata;
use crate::types::{NodeId, Peer, Raft, TypeConfig};

/// Runs `change` on this node, which must lead, within `timeout`. `applied`
/// is the metadata as applied here.
pub(crate) async fn change_locally(
    raft: &Raft,
    applied: &AppliedMetadata,
    change: MembershipChange,
    timeout: Duration,
) -> MembershipOutcome {
    match tokio::time::timeout(timeout, run(raft, applied, change)).await {
        Ok(outcome) => outcome,
        Err(_) => MembershipOutcome::Unknown {
            reason: format!("the membership change did not finish within {timeout:?}"),
        },
    }
}

/// A membership call's result: finished, or to be run again once the
/// current membership commits (another change was in progress, or this
/// change's first step is done).
enum Step {
    Finished(MembershipOutcome),
    Busy,
}

/// How long to back off after openraft said another change is in progress.
const BUSY_BACKOFF: Duration = Duration::from_millis(20);

async fn run(
    raft: &Raft,
    applied: &AppliedMetadata,
    change: MembershipChange,
) -> MembershipOutcome {
    loop {
        // openraft takes one change at a time, and a new leader's first one
        // only once it committed the membership it inherited: wait for that
        // rather than fail.
        let settled = raft
            .wait(None)
            .metrics(
                |m| {
                    m.state != ServerState::Leader
                        || m.committed_membership_config.log_id() == m.membership_config.log_id()
                },
                "the membership committed",
            )
            .await;
        let metrics = match settled {
            Ok(metrics) => metrics,
            Err(e) => {
                return MembershipOutcome::Unavailable {
                    reason: e.to_string(),
                };
            }
        };
        if metrics.state != ServerState::Leader {
            return MembershipOutcome::NotLeader {
                leader: metrics.current_leader,
            };
        }
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let step = match &change {
            MembershipChange::Add { node_id, addr } => {
                let known = membership.get_node(node_id).map(|peer| peer.addr.clone());
                let voter = voters.contains(node_id);
                add(raft, *node_id, addr.clone(), known, voter, true).await
            }
            // A voter that registered in the placement had state; asking to
            // join again, it lost it. A founder asks before it has seen the
            // membership that names it, and has not registered yet.
            MembershipChange::Join { node_id, .. }
                if voters.contains(node_id)
                    && applied.read(|md| md.placement().node(*node_id).is_some()) =>
            {
                demote(raft, *node_id, &voters).await
            }
            MembershipChange::Join { node_id, addr } if voters.contains(node_id) => {
                let known = membership.get_node(node_id).map(|peer| peer.addr.clone());
                add(raft, *node_id, addr.clone(), known, true, true).await
            }
            MembershipChange::Join { node_id, addr } => {
                let known = membership.get_node(node_id).map(|peer| peer.addr.clone());
                add(raft, *node_id, addr.clone(), known, false, true).await
            }
            MembershipChange::AddLearner { node_id, addr } => {
                let known = membership.get_node(node_id).map(|peer| peer.addr.clone());
                // A voter or a known learner needs no change beyond its address.
                let member = voters.contains(node_id) || known.is_some();
                add(raft, *node_id, addr.clone(), known, member, false).await
            }
            MembershipChange::Remove { node_id } => {
                let known = membership.get_node(node_id).is_some();
                remove(raft, *node_id, &voters, known).await
            }
        };
        match step {
            Step::Finished(outcome) => return outcome,
            Step::Busy => tokio::time::sleep(BUSY_BACKOFF).await,
        }
    }
}

/// Adds `node_id` as a learner and, with `promote`, makes it a voter.
/// `known` is the address the membership has for it, if any; `done` whether
/// it already is what it asks to be.
async fn add(
    raft: &Raft,
    node_id: NodeId,
    addr: String,
    known: Option<String>,
    done: bool,
    promote: bool,
) -> Step {
    if known.as_ref().is_some_and(|known| *known != addr) {
        // A node that came back elsewhere: replication must follow it.
        tracing::info!(node_id = node_id.get(), %addr, "updating a member's peer address");
        let moved =
            ChangeMembers::SetNodes(BTreeMap::from([(node_id, Peer { addr: addr.clone() })]));
        if let Err(e) = raft.change_membership(moved, false).await {
            return step_of(e);
        }
    }
    if done {
        return Step::Finished(MembershipOutcome::Done);
    }
    tracing::info!(node_id = node_id.get(), %addr, "adding a node: catching it up as a learner");
    if let Err(e) = raft.add_learner(node_id, Peer { addr }, true).await {
        return step_of(e);
    }
    if !promote {
        tracing::info!(node_id = node_id.get(), "the node is a non-voting member");
        return Step::Finished(MembershipOutcome::Done);
    }
    tracing::info!(
        node_id = node_id.get(),
        "promoting the caught-up learner to voter"
    );
    let promote = ChangeMembers::AddVoterIds(BTreeSet::from([node_id]));
    match raft.change_membership(promote, false).await {
        Ok(_) => Step::Finished(MembershipOutcome::Done),
        Err(e) => step_of(e),
    }
}

/// Makes voter `node_id` a learner, so that it no longer counts towards a
/// quorum; the next round of the change (a `Join` of a learner) catches it
/// up and promotes it again. Refused for the last voter.
async fn demote(raft: &Raft, node_id: NodeId, voters: &BTreeSet<NodeId>) -> Step {
    if voters.len() == 1 {
        return Step::Finished(MembershipOutcome::Refused {
            reason: format!("node {node_id} is the only voter; it can not rejoin without its data"),
        });
    }
    tracing::warn!(
        node_id = node_id.get(),
        "a voter asks to join again (it lost its Raft state): it rejoins as a learner"
    );
    // `retain = true` keeps it as a learner.
    let demoted = ChangeMembers::RemoveVoters(BTreeSet::from([node_id]));
    match raft.change_membership(demoted, true).await {
        Ok(_) => Step::Busy,
        Err(e) => step_of(e),
    }
}

/// Removes `node_id` as voter and learner. `known` says whether the
/// membership names it at all.
async fn remove(raft: &Raft, node_id: NodeId, voters: &BTreeSet<NodeId>, known: bool) -> Step {
    let change = if voters.contains(&node_id) {
        if voters.len() == 1 {
            return Step::Finished(MembershipOutcome::Refused {
                reason: format!("node {node_id} is the last voter; the group would have none"),
            });
        }
        // `retain = false` drops it from the nodes as well.
        ChangeMembers::RemoveVoters(BTreeSet::from([node_id]))
    } else if known {
        ChangeMembers::RemoveNodes(BTreeSet::from([node_id]))
    } else {
        return Step::Finished(MembershipOutcome::Done);
    };
    tracing::info!(node_id = node_id.get(), "removing a node from the group");
    match raft.change_membership(change, false).await {
        Ok(_) => Step::Finished(MembershipOutcome::Done),
        Err(e) => step_of(e),
    }
}

fn step_of(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> Step {
    match e {
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(_),
        )) => Step::Busy,
        other => Step::Finished(outcome_of(other)),
    }
}

/// What a failed openraft membership call means for the sender.
fn outcome_of(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> MembershipOutcome {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(forward)) => {
            MembershipOutcome::NotLeader {
                leader: forward.leader_id,
            }
        }
        RaftError::APIError(e @ ClientWriteError::LogEntryDiscarded(_)) => {
            MembershipOutcome::Unknown {
                reason: e.to_string(),
            }
        }
        // Only a removal can empty the voters: it was the last one.
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            e @ ChangeMembershipError::EmptyMembership(_),
        )) => MembershipOutcome::Refused {
            reason: format!("the last voter can not be removed ({e})"),
        },
        RaftError::APIError(e) => MembershipOutcome::Unavailable {
            reason: e.to_string(),
        },
        RaftError::Fatal(fatal) => MembershipOutcome::Unavailable {
            reason: fatal.to_string(),
        },
    }
}

//! What the leader knows about its voters: whether each still answers
//! ([`voter_contact`]), and handing leadership to a live one before this node
//! stops ([`transfer`]), so the group does not wait out an election timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::{Instant, RaftMetrics, ServerState};

use crate::error::ConsensusError;
use crate::types::{NodeId, Raft, TypeConfig};

type RaftInstant = openraft::alias::InstantOf<TypeConfig>;

/// On the leader: for each voter, how long ago it last acknowledged this
/// leader; `None` if it has not since this node became leader. `None` on
/// any other node.
///
/// The age is measured from when the acknowledged request was *sent*
/// (openraft's `heartbeat` metric), so it overstates the true age by at most
/// one round trip. The leader itself is always `Some(0)`.
pub(crate) fn voter_contact(
    metrics: &RaftMetrics<TypeConfig>,
) -> Option<BTreeMap<NodeId, Option<Duration>>> {
    let voters = metrics.membership_config.membership().voter_ids();
    contact(metrics, voters.collect())
}

/// [`voter_contact`] for every voter and non-voting member (learner).
pub(crate) fn member_contact(
    metrics: &RaftMetrics<TypeConfig>,
) -> Option<BTreeMap<NodeId, Option<Duration>>> {
    let members = metrics.membership_config.membership().nodes();
    contact(metrics, members.map(|(&id, _)| id).collect())
}

fn contact(
    metrics: &RaftMetrics<TypeConfig>,
    ids: Vec<NodeId>,
) -> Option<BTreeMap<NodeId, Option<Duration>>> {
    if metrics.state != ServerState::Leader {
        return None;
    }
    let acked = metrics.heartbeat.as_ref()?;
    let contact = ids
        .into_iter()
        .map(|id| {
            let age = if id == metrics.id {
                Some(Duration::ZERO)
            } else {
                acked.get(&id).cloned().flatten().map(|sent| sent.elapsed())
            };
            (id, age)
        })
        .collect();
    Some(contact)
}

/// If this node leads and another voter answers, hands leadership to the most
/// up-to-date voter that acknowledged a fresh heartbeat, and waits until
/// another node leads. `Ok(None)`: nothing to do (not the leader, or the only
/// voter). Waits at most `timeout`; `fresh_ack_wait` bounds the wait for a
/// live voter within it.
pub(crate) async fn transfer(
    raft: &Raft,
    timeout: Duration,
    fresh_ack_wait: Duration,
) -> Result<Option<NodeId>, ConsensusError> {
    let deadline = tokio::time::Instant::now() + timeout;
    // Clone at once: a borrow held across an await can stall Raft (#1238).
    let metrics = raft.metrics().borrow_watched().clone();
    let me = metrics.id;
    if metrics.state != ServerState::Leader {
        return Ok(None);
    }
    if metrics
        .membership_config
        .membership()
        .voter_ids()
        .all(|id| id == me)
    {
        return Ok(None);
    }

    // If every other voter went quiet a while ago (they stopped), waiting for
    // a fresh acknowledgement is pointless. One not heard from yet may just be
    // slow to answer a leader elected a moment ago.
    let heard_lately = voter_contact(&metrics).is_some_and(|contact| {
        contact
            .iter()
            .any(|(&id, age)| id != me && age.is_none_or(|age| age < fresh_ack_wait))
    });
    if !heard_lately {
        return Err(ConsensusError::Unavailable {
            reason: format!("no other voter answered within the last {fresh_ack_wait:?}"),
        });
    }

    // A voter that stopped a moment ago still looks up to date: only one that
    // acknowledges a heartbeat sent from now on can take over.
    let asked_at = RaftInstant::now();
    raft.trigger().heartbeat().await.map_err(unavailable)?;
    let live = raft
        .wait(Some(fresh_ack_wait.min(timeout)))
        .metrics(
            |m| target(m, asked_at).is_some() || m.state != ServerState::Leader,
            "a voter acknowledging a fresh heartbeat",
        )
        .await
        .map_err(|_| ConsensusError::Unavailable {
            reason: format!("no other voter acknowledged a heartbeat within {fresh_ack_wait:?}"),
        })?;
    if live.state != ServerState::Leader {
        // Leadership moved on its own meanwhile.
        return Ok(live.current_leader.filter(|&l| l != me));
    }
    let to = target(&live, asked_at).ok_or_else(|| ConsensusError::Unavailable {
        reason: "the live voter vanished".to_owned(),
    })?;

    tracing::info!(to = to.get(), "transferring leadership");
    raft.trigger()
        .transfer_leader(to)
        .await
        .map_err(unavailable)?;
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let moved = raft
        .wait(Some(left))
        .metrics(
            |m| m.current_leader.is_some_and(|l| l != me),
            "another node leading",
        )
        .await
        .map_err(|_| ConsensusError::Unavailable {
            reason: format!("leadership did not move to node {to} within {timeout:?}"),
        })?;
    Ok(moved.current_leader)
}

/// Among the other voters that acknowledged a request sent at or after
/// `asked_at`, the one whose log matches the leader's furthest.
fn target(metrics: &RaftMetrics<TypeConfig>, asked_at: RaftInstant) -> Option<NodeId> {
    let acked = metrics.heartbeat.as_ref()?;
    let matched = metrics.replication.as_ref()?;
    metrics
        .membership_config
        .membership()
        .voter_ids()
        .filter(|&id| id != metrics.id)
        .filter(|id| {
            acked
                .get(id)
                .cloned()
                .flatten()
                .is_some_and(|sent| *sent >= asked_at)
        })
        .max_by_key(|id| matched.get(id).cloned().flatten())
}

fn unavailable(fatal: impl std::fmt::Display) -> ConsensusError {
    ConsensusError::Unavailable {
        reason: fatal.to_string(),
    }
}

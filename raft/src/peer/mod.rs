//! The peer protocol: Raft RPC and client-command forwarding between nodes,
//! over HTTP on the peer port with postcard bodies behind a format-version byte (`versioned_postcard`).
//!
//! Both sides live here: [`client`] sends, [`router`] serves. Every route is a
//! `POST` whose body and 200 response are one encoded value; any other status
//! means the receiving node could not run the request (its Raft stopped, or
//! the body did not decode) and carries a plain-text reason.
//!
//! | path | request | response |
//! |---|---|---|
//! | [`APPEND`] | `AppendEntriesRequest` | `AppendEntriesResponse` |
//! | [`VOTE`] | `VoteRequest` | `VoteResponse` |
//! | [`SNAPSHOT`] | `(Vote, SnapshotMeta, SnapshotData)` | `SnapshotResponse` |
//! | [`PROPOSE`] | `Command` | [`ProposeOutcome`] |
//! | [`READ_INDEX`] | `()` | [`ReadIndexOutcome`] |
//! | [`STATUS`] | `()` | [`PeerStatus`] |
//! | [`FOUNDER_STATUS`] | `()` | [`PeerStatus`] |
//! | [`TRANSFER_LEADER`] | `TransferLeaderRequest` | `TransferLeaderResponse` |
//! | [`JOIN`] | [`JoinRequest`] | [`MembershipOutcome`] |
//! | [`JOIN_MEMBER`] | [`JoinRequest`] | [`MembershipOutcome`] |
//! | [`CHANGE_MEMBERSHIP`] | [`MembershipChange`] | [`MembershipOutcome`] |
//!
//! [`JOIN`] and [`JOIN_MEMBER`] are served by any member, which forwards it to the leader;
//! [`PROPOSE`], [`READ_INDEX`] and [`CHANGE_MEMBERSHIP`] run only on the
//! leader and answer `NotLeader` elsewhere. Other routes on the peer port
//! (the broker's forwarding) are the caller's and must stay outside `/raft/`.

pub mod client;
pub mod router;
pub mod transport;

use serde::{Deserialize, Serialize};

use crate::error::ConsensusError;
use crate::types::{ApplyResult, LogId, NodeId};

pub const APPEND: &str = "/raft/append";
pub const VOTE: &str = "/raft/vote";
pub const SNAPSHOT: &str = "/raft/snapshot";
/// A command forwarded to the node its sender believes leads.
pub const PROPOSE: &str = "/raft/propose";
/// A read index asked of the leader, for a linearizable read on a follower.
pub const READ_INDEX: &str = "/raft/read-index";
/// Who answers on this address and whether it has Raft state (formation).
pub const STATUS: &str = "/raft/status";
/// [`STATUS`], asked by the node that forms the group of the founders it
/// waits for: a pristine node that answers it knows it is a founder.
pub const FOUNDER_STATUS: &str = "/raft/status/founder";
/// The leader hands leadership to a chosen voter, which elects itself at once.
pub const TRANSFER_LEADER: &str = "/raft/transfer-leader";
/// A pristine node asks any member to add it as a voter; forwarded to the leader.
pub const JOIN: &str = "/raft/join";
/// A pristine node outside the voter set asks any member to add it as a
/// non-voting member (learner); forwarded to the leader.
pub const JOIN_MEMBER: &str = "/raft/join-member";
/// A membership change forwarded to the node its sender believes leads.
pub const CHANGE_MEMBERSHIP: &str = "/raft/change-membership";

/// What became of a forwarded command. Variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposeOutcome {
    /// Committed and applied; `apply`'s reply or its definite rejection.
    Applied(ApplyResult),
    /// Not appended: the receiver is not the leader. Safe to send again.
    NotLeader { leader: Option<NodeId> },
    /// Perhaps appended and its fate unknown (its entry was replaced on a
    /// leader change, the answer was lost, or Raft stopped while it held the
    /// command); it may still commit.
    Unknown { reason: String },
    /// Not appended: Raft refused it before appending.
    Unavailable { reason: String },
}

/// The leader's answer to a read-index request. Variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadIndexOutcome {
    /// Leadership was confirmed by a quorum; a read is linearizable once the
    /// reader has applied up to this log id.
    Ready(LogId),
    NotLeader {
        leader: Option<NodeId>,
    },
    /// No quorum answered, or Raft has stopped.
    Unavailable {
        reason: String,
    },
}

/// A node's identity and whether it already belongs to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub node_id: NodeId,
    /// The node has a vote or log entries: it was initialized or joined.
    pub has_state: bool,
}

/// A node asking to be added to the group, as a voter ([`JOIN`]) or as a
/// non-voting member ([`JOIN_MEMBER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub node_id: NodeId,
    /// The peer address the node serves these routes on.
    pub addr: String,
}

/// A change of the voters, run by the leader. Both are idempotent: adding a
/// voter or removing a non-member succeeds without a change. Variants are
/// only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Catch the node up as a learner, then promote it to voter.
    Add { node_id: NodeId, addr: String },
    /// Remove the node as voter and learner.
    Remove { node_id: NodeId },
    /// Catch the node up as a learner and leave it one (a non-voting member).
    /// A voter stays a voter.
    AddLearner { node_id: NodeId, addr: String },
    /// A voter-to-be asking to join ([`JOIN`]): like `Add`, but a node the
    /// membership already has as a voter lost its Raft state (a node with
    /// state never asks), so it is made a learner first, caught up, and
    /// promoted again; it never counts as a voter with an empty log.
    Join { node_id: NodeId, addr: String },
}

/// What became of a membership change. Variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipOutcome {
    /// Committed, or nothing needed changing.
    Done,
    /// Not started: the receiver is not the leader. Safe to send again.
    NotLeader { leader: Option<NodeId> },
    /// Refused before anything changed (such as removing the last voter);
    /// sending it again gives the same answer.
    Refused { reason: String },
    /// Started, but not finished in time; it may still complete. The change
    /// is idempotent, so sending it again is safe.
    Unknown { reason: String },
    /// Not started or not finished: no leader, another change in progress, or
    /// Raft has stopped. Retry later.
    Unavailable { reason: String },
}

impl MembershipOutcome {
    /// The outcome to send back for a change run through
    /// [`Consensus`](crate::Consensus) on the receiving node.
    pub(crate) fn of(result: Result<(), ConsensusError>) -> Self {
        match result {
            Ok(()) => Self::Done,
            Err(ConsensusError::Refused { reason }) => Self::Refused { reason },
            Err(ConsensusError::OutcomeUnknown { reason }) => Self::Unknown { reason },
            Err(other) => Self::Unavailable {
                reason: other.to_string(),
            },
        }
    }
}

//! The peer protocol: Raft RPC and client-command forwarding between nodes,
//! over HTTP on the peer port with postcard bodies behind a format-version byte (`codec`).
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

pub mod client;
pub mod router;

use serde::{Deserialize, Serialize};

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

/// What became of a forwarded command. Variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposeOutcome {
    /// Committed and applied; `apply`'s reply or its definite rejection.
    Applied(ApplyResult),
    /// Not appended: the receiver is not the leader. Safe to send again.
    NotLeader { leader: Option<NodeId> },
    /// Appended but its fate is unknown (its entry was replaced on a leader
    /// change, or the answer was lost); it may still commit.
    Unknown { reason: String },
    /// Not appended: the receiver's Raft has stopped.
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

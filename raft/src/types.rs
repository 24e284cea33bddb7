//! The openraft type configuration and concrete aliases for its generic types,
//! so no other file spells generic parameters.

pub use cluster::NodeId;
use cluster::{Command, MetadataError, Reply};

/// What a committed command did: the reply, or the definite reason `apply`
/// rejected it. Rejection is an outcome, not a Raft failure: the entry is
/// committed either way and every node computes the same result.
pub type ApplyResult = Result<Reply, MetadataError>;

/// The state machine's answer for one log entry: `Some` for a command, `None`
/// for Raft's own entries (blank, membership). openraft needs an answer for
/// every entry a caller waits on, and those entries have no command outcome.
pub type Response = Option<ApplyResult>;

openraft::declare_raft_types!(
    /// openraft's configuration for PubSubGo's metadata group: commands and
    /// node ids from `cluster`, and a peer address per node.
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = NodeId,
        Node = openraft::BasicNode,
);

/// A member's peer address (`host:port` of its peer RPC listener).
pub type Peer = openraft::BasicNode;
pub type Raft = openraft::Raft<TypeConfig, crate::StateMachine>;
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
pub type Entry = openraft::alias::EntryOf<TypeConfig>;
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
/// Snapshots travel and rest as one postcard buffer; metadata is small.
pub type SnapshotData = Vec<u8>;
pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotData>;

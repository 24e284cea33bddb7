//! The simulation's openraft type configuration: the metadata group's
//! commands and replies, on a runtime that takes from the seed what
//! `raft::TypeConfig`'s Tokio runtime takes from the OS (its random numbers,
//! and its watch channels' wake order): [`SimRuntime`].

pub use cluster::NodeId;
pub use raft::types::Response;

pub use crate::runtime::SimRuntime;

openraft::declare_raft_types!(
    /// openraft's configuration for the simulated metadata group.
    pub SimConfig:
        D = cluster::Command,
        R = Response,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        AsyncRuntime = SimRuntime,
);

pub type LogId = openraft::alias::LogIdOf<SimConfig>;
pub type Entry = openraft::alias::EntryOf<SimConfig>;
pub type Vote = openraft::alias::VoteOf<SimConfig>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<SimConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<SimConfig>;
pub type Snapshot = openraft::alias::SnapshotOf<SimConfig, Vec<u8>>;

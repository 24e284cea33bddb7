//! The simulation's openraft type configuration: the metadata group's
//! commands and replies, on a runtime whose randomness comes from the seed.
//!
//! `raft::TypeConfig` fixes openraft's Tokio runtime, whose `thread_rng` (the
//! election timeouts, the tick jitter) is seeded by the OS. openraft ships
//! [`DeterministicRng`], a wrapper that draws those numbers from a seed
//! instead; the simulation declares its own configuration over it.

pub use cluster::NodeId;
use openraft_rt::deterministic_rng::DeterministicRng;
use openraft_rt_tokio::TokioRuntime;
pub use raft::types::Response;

/// Tokio (one thread, paused clock) with openraft's random numbers seeded.
pub type SimRuntime = DeterministicRng<TokioRuntime>;

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

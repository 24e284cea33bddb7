//! Metadata consensus for PubSubGo: openraft replicating [`cluster::Metadata`].
//!
//! # Modules
//! - [`consensus`]: [`Consensus`], the handle: start, propose, linearizable
//!   read, leader, metrics, shutdown.
//! - [`config`]: [`ConsensusConfig`]: node id, data dir, peers, timings.
//! - [`error`]: [`ConsensusError`]: rejected (definite), no leader or
//!   unavailable (retryable), outcome unknown.
//! - `formation` (private): who initializes the group, and when.
//! - [`peer`]: the peer protocol over HTTP: [`peer::client`] sends Raft RPCs
//!   and forwarded commands, [`peer::router`] serves them.
//! - [`storage`]: [`Storage`], the one redb file holding log and snapshots.
//! - [`log_store`]: the Raft log, vote and committed id in redb.
//! - [`state_machine`]: `cluster::Metadata` advanced by committed commands;
//!   snapshots in the same redb file.
//! - [`metrics`]: [`ConsensusMetrics`], Raft's state without generics.
//! - [`types`]: the openraft type configuration and concrete aliases.
//! - `codec` (private): postcard behind a format-version byte, for disk and wire.
//!
//! # A proposal's path
//! [`Consensus::propose`] → (on a follower) [`peer::client`] `POST /raft/propose`
//! → the leader's [`peer::router`] → `Raft::client_write` → replication via
//! [`peer::client::PeerClient`] → [`log_store`] on each node → commit →
//! [`state_machine`] → `cluster::Metadata::apply` → the reply travels back.

mod codec;
pub mod config;
pub mod consensus;
pub mod error;
mod formation;
pub mod log_store;
pub mod metrics;
pub mod peer;
pub mod state_machine;
pub mod storage;
pub mod types;

pub use config::ConsensusConfig;
pub use consensus::Consensus;
pub use error::ConsensusError;
pub use log_store::LogStore;
pub use metrics::{ConsensusMetrics, Role};
pub use state_machine::{AppliedMetadata, StateMachine};
pub use storage::Storage;
pub use types::{ApplyResult, NodeId, Peer, Response, TypeConfig};

//! Metadata consensus for PubSubGo: openraft replicating [`cluster::Metadata`].
//!
//! # Modules
//! - [`consensus`]: [`Consensus`], the handle: start (optionally with the
//!   caller's routes on the peer port), propose, linearizable read, leader,
//!   metrics, add and remove nodes, leadership transfer, voter liveness,
//!   shutdown.
//! - [`config`]: [`ConsensusConfig`]: node id, data dir, peers, bootstrap
//!   expect, timings.
//! - [`error`]: [`ConsensusError`]: rejected or refused (definite), no leader
//!   or unavailable (retryable), outcome unknown.
//! - `formation` (private): who initializes the group and when; a pristine
//!   node that finds a group asks to join it.
//! - `leader_link` (private): reaching the leader from any node: wait for it,
//!   find its address, forward, retry once on a leader change.
//! - `membership` (private): the leader's side of adding (learner, then
//!   voter) and removing nodes.
//! - `leadership` (private): the leader's view of its voters' liveness, and
//!   handing leadership to a live voter.
//! - [`peer`]: the peer protocol over HTTP: [`peer::client`] sends Raft RPCs
//!   and forwarded requests, [`peer::router`] serves them.
//! - [`storage`]: [`Storage`], the one redb file holding log and snapshots.
//! - [`log_store`]: the Raft log, vote and committed id in redb.
//! - [`state_machine`]: `cluster::Metadata` advanced by committed commands;
//!   snapshots in the same redb file.
//! - [`metrics`]: [`ConsensusMetrics`], Raft's state without generics.
//! - [`types`]: the openraft type configuration and concrete aliases.
//! - [`versioned_postcard`]: postcard behind a format-version byte, for disk and wire.
//! - `log_format` (private): which format versions the log and snapshots are
//!   read in, and how a change of a stored type adds one (a migration).
//!
//! # A proposal's path
//! [`Consensus::propose`] → (on a follower) [`peer::client`] `POST /raft/propose`
//! → the leader's [`peer::router`] → `Raft::client_write` → replication via
//! [`peer::client::PeerClient`] → [`log_store`] on each node → commit →
//! [`state_machine`] → `cluster::Metadata::apply` → the reply travels back.
//!
//! # A join's path
//! A pristine node's `formation` probes its peers (`POST /raft/status`); once
//! one has state it sends `POST /raft/join` there → that node's `leader_link`
//! forwards `POST /raft/change-membership` to the leader → `membership`:
//! `Raft::add_learner` (blocks until caught up), then `Raft::change_membership`
//! promotes it → the new membership replicates to the joiner, which stops
//! probing once it sees itself a voter. [`Consensus::add_node`] and
//! [`Consensus::remove_node`] enter at the `leader_link` step.

pub mod config;
pub mod consensus;
pub mod error;
mod formation;
mod leader_link;
mod leadership;
mod log_format;
pub mod log_store;
mod membership;
pub mod metrics;
pub mod peer;
pub mod state_machine;
pub mod storage;
pub mod types;
pub mod versioned_postcard;

pub use config::ConsensusConfig;
pub use consensus::{Consensus, install_crypto_provider};
pub use error::ConsensusError;
pub use log_store::LogStore;
pub use metrics::{ConsensusMetrics, Role};
pub use state_machine::{AppliedMetadata, AppliedView, StateMachine};
pub use storage::Storage;
pub use types::{ApplyResult, NodeId, Peer, Response, TypeConfig};

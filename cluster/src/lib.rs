//! The replicated metadata model of PubSubGo.
//!
//! Everything here is pure: no I/O, no clock, no randomness. Time arrives inside
//! commands, so applying the same commands in the same order gives the same state
//! on every node. That is what lets the `raft` crate replicate [`Metadata`]: every
//! change is a [`Command`], proposed through the node's one `propose` interface,
//! committed by Raft, and applied by each node's state machine (in-process tests
//! apply it locally through the same interface).
//!
//! # Modules
//! - [`names`]: validating newtypes for topic and subscription names.
//! - [`ids`]: numeric ids: [`NodeId`] and a partition owner's [`Epoch`].
//! - [`topic`]: a topic's configuration and limits.
//! - [`subscription`]: a subscription's configuration and limits.
//! - [`push`]: a push subscription's endpoint, concurrency and signing secret.
//! - [`command`]: the [`Command`] and [`Reply`] enums, the only way to change metadata.
//! - [`group`]: consumer groups of `partitioned` subscriptions: members, sessions,
//!   generations.
//! - [`assignment`]: the sticky, balanced partition → member [`assignment::assign`].
//! - [`metadata`]: [`Metadata`] and its deterministic [`Metadata::apply`].
//! - [`partitioning`]: which partition an ordering key maps to (xxh3, stable).
//! - [`placement`]: cluster nodes and partition owners with epochs (rendezvous
//!   hashing over xxh3).
//! - [`touched`]: [`Touched`], the names an applied command changed, from its reply.
//! - [`wire_format`]: the oldest stored format a serialized value needs.
//! - [`error`]: [`MetadataError`], the one error type of this crate.
//!
//! # A command's path
//! A request becomes a [`Command`] carrying its time (e.g. `CreateTopic` with a
//! [`topic::TopicConfig`]) → [`Metadata::apply`] validates it against the
//! configuration rules (`topic`, `subscription`, `push`, `names`) and the
//! current state → changes the state (a new group generation from
//! [`assignment::assign`], new partition owners and epochs from [`placement`])
//! → answers a [`Reply`] or a [`MetadataError`], the same on every node.

pub mod assignment;
pub mod command;
pub mod error;
pub mod group;
pub mod ids;
pub mod metadata;
pub mod names;
pub mod partitioning;
pub mod placement;
pub mod push;
pub mod subscription;
pub mod topic;
pub mod touched;
pub mod wire_format;

pub use command::{Command, Reply};
pub use error::MetadataError;
pub use group::{ConsumerGroup, Member, MemberAssignment, MemberId};
pub use ids::{Epoch, NodeId};
pub use metadata::Metadata;
pub use names::{SubscriptionName, TopicName};
pub use placement::{ClusterNode, PartitionMove, PartitionOwner, Placement, PlannedMove};
pub use push::PushConfig;
pub use subscription::{Subscription, SubscriptionConfig, SubscriptionType};
pub use topic::{AckPolicy, Compression, Discard, Retention, Topic, TopicConfig};
pub use touched::Touched;

//! Where messages and subscription state live.
//!
//! Two traits split the job: [`MessageLog`] holds each partition's ordered log,
//! [`SubscriptionState`] holds what each subscription has leased, acked and must
//! redeliver. [`Storage`] is both. Two backends implement them:
//! [`memory::MemoryStorage`] (development and tests) and [`redis::RedisStorage`]
//! (Redis standalone or Redis Cluster). Every backend must pass [`conformance`].
//!
//! Owner epochs fence a stale partition owner: a backend also implements
//! [`FencedLog`], appends carrying the epoch they are written under, refused
//! when older than the newest the partition has seen. The broker never passes
//! an epoch: a backend on its own writes as the single node
//! ([`Epoch::SINGLE_NODE`]); in a cluster, routed storage writes on the owner
//! with the owner's epoch from the metadata.
//!
//! The delivery state machine itself lives once, in `cursor` (a subscription's
//! state on one partition), and both backends run it: memory keeps cursors only
//! in memory, Redis keeps them in the partition owner's memory as a working copy
//! and writes every change through to Redis before a call returns (an
//! at-least-once lease waits for the next call that writes); the copy is
//! dropped ([`SubscriptionState::release_partition`]) when ownership moves away,
//! and one subscription's ([`SubscriptionState::release_subscription`]) when it
//! is deleted or created again.
//! The [`SubscriptionState`] calls that are one step of the cursor are written
//! once, in `cursor_store`, over the little each backend adds.
//!
//! In a cluster, [`crate::routing::RoutedStorage`] wraps a node's backend and
//! runs each per-partition call on the partition's owner node, over the peer port.
//!
//! Offsets are dense per partition and start at 0, so a partition's end offset
//! is also the number of messages ever appended to it.
//!
//! # Files
//! - `message_log`, `subscription_state`, `fenced_log`: the traits, one a
//!   file; `backend`: their combinations [`Storage`] (what the broker uses)
//!   and [`FencedStorage`] (a backend, whose appends carry an owner epoch).
//! - `cursor_store`: [`SubscriptionState`] for both backends, over the cursor.
//! - `message`: [`NewMessage`], [`StoredMessage`], [`PartitionRef`], [`PartitionOffsets`].
//! - `append_options`: [`AppendOptions`], how one topic's appends are stored.
//! - `leasing`: [`LeaseRequest`] and [`LeaseOutcome`], acks and nacks, the
//!   [`DeliveryPolicy`] a call runs under.
//! - `dead_letter`: [`DeadLetter`], the [`RedriveFilter`] that takes them back,
//!   and [`CopiedDeadLetter`], a copy taken out of the dead-letter outbox.
//! - `position`: [`Backlog`] and [`SeekTarget`].
//! - `error`: [`StorageError`].

mod append_options;
mod backend;
pub mod conformance;
pub(crate) mod cursor;
mod cursor_store;
mod dead_letter;
mod error;
mod fenced_log;
mod leasing;
pub mod memory;
mod message;
mod message_log;
mod position;
pub mod redis;
mod subscription_state;

/// Owner epochs are the metadata model's ([`cluster::Epoch`]); storage fences by them.
pub use cluster::Epoch;

pub use self::append_options::{AppendOptions, IdempotentAppend};
pub use self::backend::{FencedStorage, Storage};
pub use self::dead_letter::{CopiedDeadLetter, DeadLetter, RedriveFilter};
pub use self::error::StorageError;
pub use self::fenced_log::FencedLog;
pub use self::leasing::{
    AckOutcome, DeliveryPolicy, DeliveryRef, FAIRNESS_PERIOD, LeaseOutcome, LeaseRequest, Leased,
    Nack, PRIORITY_WINDOW,
};
pub use self::message::{Millis, NewMessage, PartitionOffsets, PartitionRef, StoredMessage};
pub use self::message_log::MessageLog;
pub use self::position::{Backlog, SeekTarget};
pub use self::subscription_state::SubscriptionState;

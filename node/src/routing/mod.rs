//! Cluster routing: any node serves any request, and each partition's storage
//! calls run on the partition's owner node.
//!
//! Every partition `(topic, index)` has one owner node and an owner epoch in
//! the Raft-applied metadata. [`RoutedStorage`] wraps this node's own backend
//! and asks a [`Placement`] where each call goes:
//!
//! - per-partition calls (append, read, lease, ack, …) run on the owner: on
//!   the local backend when this node owns the partition, otherwise as one
//!   HTTP `POST` ([`StorageClient`]) to the owner's peer port, served there by
//!   [`routes`];
//! - topic- and subscription-level calls (create, delete, check options, ping,
//!   ack level) run on the local backend only: [`StorageSync`] keeps every
//!   node's backend in step with the metadata.
//!
//! # Epochs
//! The owner's epoch is authoritative and belongs to this layer: an append
//! carries no epoch from the caller; the owner writes it with the epoch its
//! placement holds ([`Route::Local`]), through the backend's
//! [`FencedLog`](crate::storage::FencedLog). A node that believes it still
//! owns a partition after the metadata moved it writes with its old epoch and
//! is fenced by the backend. [`StorageSync`] claims a gained partition's epoch
//! at once (an empty fenced append), fencing the previous owner before this
//! node's first write.
//!
//! # Moved
//! The owner judges ownership itself, after catching up with the caller's
//! metadata ([`Placement::catch_up`]). If it does not own the partition it
//! answers [`StorageError::Moved`](crate::storage::StorageError::Moved); the
//! caller refreshes its metadata ([`Placement::refresh`]) and routes once
//! more. A second `Moved` is returned to the caller: ownership is changing,
//! retry later.
//!
//! # Files
//! - `route`: [`Route`] and the [`Placement`] trait: who owns a partition, as
//!   routed storage asks it.
//! - `owners`: [`MetadataPlacement`], the [`Placement`] read from the Raft
//!   metadata, with this node's ownership lease and the read barrier it
//!   passes before serving as owner after a start or a time out of contact.
//! - `routed_storage`: [`RoutedStorage`] and its dispatch (local or remote,
//!   one retry after `Moved`); `routed_log` and `routed_subscriptions`: the
//!   storage traits on it.
//! - `call`: [`StorageCall`] and [`StorageReply`], a call as a value, how the
//!   owner runs it, and the peer path [`CALL_PATH`]; `call_client`
//!   ([`StorageClient`]) and `call_server` ([`routes`]) are its two halves,
//!   `call_codec` its encoding (postcard behind a version byte).
//! - `storage_sync`: [`StorageSync`], this node's storage following the
//!   metadata (topics, subscriptions, owned partitions' epochs), with work
//!   per applied change proportional to what it changed (`sync_patch`: the
//!   new state of what changed, read from the Raft journal of changes).
//! - `watch`: the watch call (both halves), a wait for an owner's next
//!   wake-up of a topic; `remote_wakeups` ([`RemoteWakeups`]): the watches
//!   this node keeps while its waiters wait, relayed to them.
//! - `peer_limits` ([`PeerLimits`]): calls and watches in flight per calling
//!   node, refused with `503` beyond `--peer-max-in-flight`.
//! - [`liveness`]: registers this node in the metadata, and on the leader
//!   marks nodes down (moving their partitions) when they are silent for the
//!   owner timeout, and live again when they answer.
//! - [`move_journal`]: the owner changes this node applied and when (the
//!   cluster status's recent moves, the rebalance cool-down).
//! - [`rebalancer`]: on the leader, moves partitions back to their rendezvous
//!   owners at a bounded rate after a node joins or comes back.

mod call;
mod call_client;
mod call_codec;
mod call_server;
pub mod liveness;
pub mod move_journal;
mod owners;
mod peer_limits;
mod peer_slots;
pub mod rebalancer;
mod remote_wakeups;
mod route;
mod routed_log;
mod routed_storage;
mod routed_subscriptions;
mod storage_sync;
mod sync_patch;
mod watch;

pub use self::call::{CALL_PATH, StorageCall, StorageReply};
pub use self::call_client::StorageClient;
pub use self::call_server::{MAX_CALL_BYTES, routes};
pub use self::owners::MetadataPlacement;
pub use self::peer_limits::{DEFAULT_MAX_IN_FLIGHT, PEER_NODE_HEADER, PeerLimits};
pub use self::remote_wakeups::RemoteWakeups;
pub use self::route::{Placement, Route};
pub use self::routed_storage::RoutedStorage;
pub use self::storage_sync::StorageSync;
pub use self::watch::{MAX_WATCH_WAIT, WATCH_PATH, WATCH_WAIT, WatchRequest};

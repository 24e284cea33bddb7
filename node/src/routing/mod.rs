//! Serving any request on any node: partition owners, and keeping each node's
//! storage in step with the metadata.
//!
//! - [`MetadataPlacement`]: where each partition's storage calls run, read from
//!   the Raft-applied metadata (owner and epoch), for
//!   [`crate::storage::routed::RoutedStorage`].
//! - [`StorageSync`]: gives this node's storage every topic and subscription
//!   the metadata has (and, on memory storage, drops deleted ones), and makes
//!   it forget cached state of partitions that moved away.
//! - [`liveness`]: registers this node in the metadata, and on the leader
//!   marks nodes down (moving their partitions) when they are silent for the
//!   owner timeout, and live again when they answer.

pub mod liveness;
mod placement;
mod sync;

pub use placement::MetadataPlacement;
pub use sync::StorageSync;

//! Storage for a node in a cluster: each per-partition call runs on the
//! partition's owner node, over the peer port.
//!
//! Every partition `(topic, index)` has one owner node and an owner epoch,
//! and any node serves any client request. [`RoutedStorage`] wraps this
//! node's own backend and asks a [`Placement`] where each call goes:
//!
//! - per-partition calls (append, read, lease, ack, …) run on the owner:
//!   on the local backend when this node owns the partition, otherwise as one
//!   HTTP `POST` ([`StorageClient`]) to the owner's peer port, served there by
//!   [`routes`];
//! - topic- and subscription-level calls (create, delete, check options, ping,
//!   ack level) run on the local backend only: every node's backend is kept in
//!   step with the metadata by the cluster, not by this layer.
//!
//! # Epochs
//! The owner's epoch is authoritative: an append writes with the epoch the
//! owner's placement holds, whatever epoch the caller passed. A node that
//! believes it still owns a partition after the metadata moved it writes with
//! its old epoch and is fenced by the backend.
//!
//! # Moved
//! The owner judges ownership itself, after catching up with the caller's
//! metadata ([`Placement::catch_up`]). If it does not own the partition it
//! answers [`StorageError::Moved`]; the caller refreshes its metadata
//! ([`Placement::refresh`]) and routes once more. A second `Moved` is
//! returned to the caller: ownership is changing, retry later.
//!
//! # Layout
//! - [`placement`]: [`Route`] and the [`Placement`] trait the cluster implements.
//! - [`call`]: [`StorageCall`] and [`StorageReply`], a call as a value, and how
//!   the owner runs it.
//! - `codec`: the encoding on the wire (postcard behind a version byte).
//! - [`client`] and [`server`]: the two halves of the peer route [`CALL_PATH`].
//! - `log` and `subscriptions`: the storage traits on [`RoutedStorage`].

pub mod call;
pub mod client;
mod codec;
mod log;
pub mod placement;
pub mod server;
mod subscriptions;

use std::sync::Arc;

pub use self::call::{StorageCall, StorageReply};
pub use self::client::StorageClient;
pub use self::placement::{Placement, Route};
pub use self::server::routes;
use crate::storage::{Storage, StorageError};

/// The peer-port path storage calls are `POST`ed to.
pub const CALL_PATH: &str = "/storage/call";

/// A storage backend that runs each partition's calls on its owner node.
#[derive(Debug, Clone)]
pub struct RoutedStorage {
    local: Arc<dyn Storage>,
    placement: Arc<dyn Placement>,
    client: StorageClient,
}

impl RoutedStorage {
    /// Routes by `placement`; runs owned partitions' calls, and every
    /// topic- and subscription-level call, on `local`.
    pub fn new(
        local: Arc<dyn Storage>,
        placement: Arc<dyn Placement>,
        client: StorageClient,
    ) -> Self {
        Self {
            local,
            placement,
            client,
        }
    }

    /// Runs `call` on the partition's owner; after a `Moved` answer,
    /// refreshes the metadata and routes once more.
    async fn dispatch(&self, call: StorageCall) -> Result<StorageReply, StorageError> {
        let mut refreshed = false;
        loop {
            match self.placement.route(call.partition()) {
                Route::Local { epoch } => {
                    // As a forwarded call would: the metadata this node has
                    // applied may name a topic its storage has not been given yet.
                    self.placement.catch_up(0).await?;
                    self.placement.serving()?;
                    return call.run(self.local.as_ref(), epoch).await;
                }
                Route::Remote { peer_addr, .. } => {
                    let applied = self.placement.applied_index();
                    match self.client.send(&peer_addr, applied, &call).await {
                        Err(StorageError::Moved { .. }) if !refreshed => {
                            refreshed = true;
                            self.placement.refresh().await?;
                        }
                        answer => return answer,
                    }
                }
            }
        }
    }
}

/// The owner answered a reply of the wrong kind: a bug on one side, and the
/// call may have run.
fn mismatched(call: &'static str, reply: &StorageReply) -> StorageError {
    StorageError::OutcomeUnknown {
        reason: format!("the owner answered {call} with {reply:?}"),
    }
}

/// Unpacks the one [`StorageReply`] variant a call returns.
macro_rules! expect_reply {
    ($reply:expr, $call:literal, $pattern:pat => $value:expr) => {
        match $reply {
            $pattern => Ok($value),
            other => Err($crate::storage::routed::mismatched($call, &other)),
        }
    };
}
use expect_reply;

//! What [`RoutedStorage`](super::RoutedStorage) asks the cluster: who owns a
//! partition, and how far this node's view of the metadata has come.

use async_trait::async_trait;
use cluster::NodeId;

use crate::storage::{Epoch, PartitionRef, StorageError};

/// Where a partition's storage calls run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node owns the partition, at owner epoch `epoch`.
    Local { epoch: Epoch },
    /// Node `node`, reached at `peer_addr` (`host:port` of its peer port),
    /// owns the partition. It writes with the epoch it knows itself, so the
    /// caller sends none.
    Remote { node: NodeId, peer_addr: String },
}

/// The cluster's partition placement, as this node currently knows it.
#[async_trait]
pub trait Placement: Send + Sync + std::fmt::Debug {
    /// Where `partition`'s calls run now.
    fn route(&self, partition: &PartitionRef) -> Route;

    /// The metadata position this node has applied; sent with each remote call.
    fn applied_index(&self) -> u64;

    /// On the receiving node, before running a call: wait until metadata is applied
    /// up to `index` and local storage has every topic/subscription that metadata knows.
    /// Callers go through `caught_up_to` (on `dyn Placement`), which skips this
    /// call when [`Placement::caught_up`] says there is nothing to wait for.
    async fn catch_up(&self, index: u64) -> Result<(), StorageError>;

    /// Whether [`Placement::catch_up`] to `index` would return at once, answered
    /// without a call that boxes a future (this is on every storage call's path).
    /// `false` when unsure; the default.
    fn caught_up(&self, _index: u64) -> bool {
        false
    }

    /// On the calling node, after the owner answered Moved: bring the metadata up to
    /// date (a linearizable read barrier) before routing once more.
    async fn refresh(&self) -> Result<(), StorageError>;

    /// Whether this node may act as owner of the partitions it owns now. A
    /// node cut off from the cluster's majority must stop before the others
    /// may have moved its partitions, and a node back (restarted, or in
    /// contact again) must first apply the owner changes it missed; its
    /// refusal is an [`StorageError::Unavailable`]. Always allowed by default.
    async fn serving(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// [`Placement::serving`] when it can answer without waiting, as it can on
    /// nearly every call: `None` when confirming must wait (a read barrier).
    /// `None` by default, so an implementation that overrides only `serving`
    /// is still asked.
    fn serving_now(&self) -> Option<Result<(), StorageError>> {
        None
    }
}

impl dyn Placement {
    /// [`Placement::route`], with this node's right to serve confirmed
    /// ([`Placement::serving`]) when it is the owner. The route is read again
    /// after: confirming, or another caller's read barrier that finished in
    /// between, may have applied owner changes.
    pub async fn owner_route(&self, partition: &PartitionRef) -> Result<Route, StorageError> {
        let route = self.route(partition);
        if !matches!(route, Route::Local { .. }) {
            return Ok(route);
        }
        match self.serving_now() {
            Some(answer) => answer?,
            None => self.serving().await?,
        }
        Ok(self.route(partition))
    }

    /// [`Placement::catch_up`] to `index`, skipped when [`Placement::caught_up`].
    pub async fn caught_up_to(&self, index: u64) -> Result<(), StorageError> {
        if self.caught_up(index) {
            return Ok(());
        }
        self.catch_up(index).await
    }
}

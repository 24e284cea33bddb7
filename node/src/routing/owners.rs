//! [`MetadataPlacement`]: partition owners, and so routes, from the applied
//! Raft metadata.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cluster::Epoch;
use raft::Consensus;

use super::{Placement, Route, StorageSync};
use crate::storage::{PartitionRef, StorageError};

/// How long a node receiving a forwarded call waits to apply the metadata
/// the caller had seen: well inside the caller's timeout
/// (`StorageClient::DEFAULT_TIMEOUT`, 5 s), so a call is not run after its
/// caller gave up on it and reported the outcome unknown.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes each partition to the owner the metadata names.
///
/// A partition with no owner (no node registered yet) or whose owner is not a
/// known node runs locally with [`Epoch::SINGLE_NODE`]; in a cluster every
/// partition gets an owner as soon as one node has registered.
#[derive(Debug)]
pub struct MetadataPlacement {
    consensus: Consensus,
    sync: Arc<StorageSync>,
    /// This node stops acting as owner once it has not been part of a
    /// working majority for this long: half the owner timeout, after which
    /// the leader moves a silent node's partitions.
    ownership_lease: Duration,
    /// When `serving` last found the lease current; it is trusted for
    /// [`LEASE_CHECK_REUSE`] so the hot path does not read Raft's metrics on
    /// every call.
    last_current: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long one successful lease check is reused. Far below the lease (half
/// the owner timeout, at least 500 ms), so it adds little slack.
const LEASE_CHECK_REUSE: Duration = Duration::from_millis(50);

impl MetadataPlacement {
    pub fn new(consensus: Consensus, sync: Arc<StorageSync>, owner_timeout: Duration) -> Self {
        Self {
            consensus,
            sync,
            ownership_lease: owner_timeout / 2,
            last_current: std::sync::Mutex::default(),
        }
    }
}

#[async_trait]
impl Placement for MetadataPlacement {
    fn route(&self, partition: &PartitionRef) -> Route {
        let me = self.consensus.node_id();
        self.consensus.read_local(|md| {
            let placement = md.placement();
            match placement.owner(&partition.topic, partition.partition) {
                Some(owner) if owner.node == me => Route::Local { epoch: owner.epoch },
                Some(owner) => match placement.node(owner.node) {
                    Some(node) => Route::Remote {
                        node: owner.node,
                        peer_addr: node.peer_addr.clone(),
                    },
                    None => Route::Local {
                        epoch: Epoch::SINGLE_NODE,
                    },
                },
                None => Route::Local {
                    epoch: Epoch::SINGLE_NODE,
                },
            }
        })
    }

    fn applied_index(&self) -> u64 {
        self.sync.applied_index()
    }

    async fn catch_up(&self, index: u64) -> Result<(), StorageError> {
        if self.applied_index() < index {
            self.consensus
                .wait_until(CATCH_UP_TIMEOUT, |m| {
                    m.applied_index.is_some_and(|applied| applied >= index)
                })
                .await
                .map_err(|e| StorageError::Unavailable {
                    reason: format!("metadata not applied up to {index}: {e}"),
                })?;
        }
        self.sync.sync().await
    }

    fn serving(&self) -> Result<(), StorageError> {
        #[cfg(feature = "test-breaks")]
        if crate::test_breaks::active("skip-epoch-fence") {
            return Ok(());
        }
        let mut last = self
            .last_current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|at| at.elapsed() < LEASE_CHECK_REUSE) {
            return Ok(());
        }
        if self.consensus.metrics().voters.len() < 2 {
            *last = Some(std::time::Instant::now());
            return Ok(());
        }
        match self.consensus.quorum_contact_age() {
            Some(age) if age < self.ownership_lease => {
                *last = Some(std::time::Instant::now());
                Ok(())
            }
            age => Err(StorageError::Unavailable {
                reason: format!(
                    "this node has not been in contact with a majority of the cluster for {}; \
                     the partitions it owned may have moved",
                    age.map_or_else(|| "ever".to_owned(), |a| format!("{a:?}"))
                ),
            }),
        }
    }

    async fn refresh(&self) -> Result<(), StorageError> {
        self.consensus
            .read(|_| ())
            .await
            .map_err(|e| StorageError::Unavailable {
                reason: format!("cannot refresh the metadata: {e}"),
            })?;
        self.sync.sync().await
    }
}

//! [`MetadataPlacement`]: partition routes from the applied metadata.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use raft::Consensus;

use super::StorageSync;
use crate::broker::SINGLE_NODE_EPOCH;
use crate::storage::routed::{Placement, Route};
use crate::storage::{PartitionRef, StorageError};

/// How long a node receiving a forwarded call waits to apply the metadata
/// the caller had seen.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(5);

/// Routes each partition to the owner the metadata names.
///
/// A partition with no owner (no node registered yet) or whose owner is not a
/// known node runs locally with [`SINGLE_NODE_EPOCH`]; in a cluster every
/// partition gets an owner as soon as one node has registered.
#[derive(Debug)]
pub struct MetadataPlacement {
    consensus: Consensus,
    sync: Arc<StorageSync>,
}

impl MetadataPlacement {
    pub fn new(consensus: Consensus, sync: Arc<StorageSync>) -> Self {
        Self { consensus, sync }
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
                        epoch: owner.epoch,
                    },
                    None => Route::Local {
                        epoch: SINGLE_NODE_EPOCH,
                    },
                },
                None => Route::Local {
                    epoch: SINGLE_NODE_EPOCH,
                },
            }
        })
    }

    fn applied_index(&self) -> u64 {
        *self.consensus.changes().borrow()
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

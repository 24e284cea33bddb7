//! [`MetadataPlacement`]: partition owners, and so routes, from the applied
//! Raft metadata.

use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// When `serving` last found the lease current and the metadata caught
    /// up; it is trusted for [`LEASE_CHECK_REUSE`] so the hot path does not
    /// read Raft's metrics on every call, and a check more than a lease after
    /// it needs a read barrier first.
    last_current: std::sync::Mutex<Option<Instant>>,
    /// One read barrier at a time; the callers that queue behind it find it
    /// done.
    barrier: tokio::sync::Mutex<()>,
}

/// The test-only break `serve-before-catch-up`: no read barrier, and a node
/// that has not heard from a leader since its start serves as owner too.
fn skip_barrier() -> bool {
    #[cfg(feature = "test-breaks")]
    if crate::test_breaks::active("serve-before-catch-up") {
        return true;
    }
    false
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
            barrier: tokio::sync::Mutex::default(),
        }
    }

    /// After a start, before the node serves clients: applies the log up to
    /// the leader's commit index (a read barrier), so neither its routes nor
    /// the owner epochs it stamps on deliveries come from before its absence.
    /// Tries until `timeout`; without it the gate in [`Placement::serving`]
    /// still holds writes back until a barrier passes.
    pub async fn catch_up_after_start(&self, timeout: Duration) -> Result<(), StorageError> {
        if skip_barrier() {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let began = Instant::now();
            match self.consensus.read(|_| ()).await {
                Ok(()) => {
                    *self.lock_last_current() = Some(began);
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(StorageError::Unavailable {
                        reason: format!("no read barrier within {timeout:?}: {e}"),
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn lock_last_current(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.last_current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a lease check at `at` is too old to trust: a read barrier must
    /// pass before this node serves as owner again.
    fn stale(&self, at: Option<Instant>) -> bool {
        at.is_none_or(|at| at.elapsed() >= self.ownership_lease)
    }

    /// Whether this node has been part of a working majority within the
    /// ownership lease.
    fn lease_current(&self) -> Result<(), StorageError> {
        match self.consensus.quorum_contact_age() {
            Some(age) if age < self.ownership_lease => Ok(()),
            // The break trusts the metadata on disk until a leader is heard.
            None if skip_barrier() => Ok(()),
            age => Err(StorageError::Unavailable {
                reason: format!(
                    "this node has not been in contact with a majority of the cluster for {}; \
                     the partitions it owned may have moved",
                    age.map_or_else(|| "ever".to_owned(), |a| format!("{a:?}"))
                ),
            }),
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

    fn caught_up(&self, index: u64) -> bool {
        self.applied_index() >= index && self.sync.is_current()
    }

    fn serving_now(&self) -> Option<Result<(), StorageError>> {
        #[cfg(feature = "test-breaks")]
        if crate::test_breaks::active("skip-epoch-fence") {
            return Some(Ok(()));
        }
        let checked = *self.lock_last_current();
        if checked.is_some_and(|at| at.elapsed() < LEASE_CHECK_REUSE) {
            return Some(Ok(()));
        }
        let now = Instant::now();
        if self.consensus.metrics().voters.len() < 2 {
            *self.lock_last_current() = Some(now);
            return Some(Ok(()));
        }
        if let Err(e) = self.lease_current() {
            return Some(Err(e));
        }
        if self.stale(checked) {
            return None;
        }
        *self.lock_last_current() = Some(now);
        Some(Ok(()))
    }

    async fn serving(&self) -> Result<(), StorageError> {
        let now = Instant::now();
        if let Some(answer) = self.serving_now() {
            return answer;
        }
        // Serving as owner needs the owner changes committed while this node
        // was not looking: after a start, or when it last checked more than a
        // lease ago (it may have been cut off, or stopped, in between), a read
        // barrier applies the log up to the leader's commit index first.
        // Otherwise a node restarted after a crash serves, under its old
        // epochs, the partitions that moved away while it was down.
        let _one_barrier = self.barrier.lock().await;
        // Another caller may have passed one while this one queued.
        if self.stale(*self.lock_last_current()) && !skip_barrier() {
            self.consensus
                .read(|_| ())
                .await
                .map_err(|e| StorageError::Unavailable {
                    reason: format!(
                        "this node has not yet applied the metadata up to the \
                         leader's commit index, so it may not own what it owned: {e}"
                    ),
                })?;
        }
        *self.lock_last_current() = Some(now);
        Ok(())
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

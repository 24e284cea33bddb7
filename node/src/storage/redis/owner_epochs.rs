//! [`OwnerEpochs`]: the epoch this node writes each partition's cursors as.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::storage::{Epoch, PartitionRef};

/// The highest owner epoch this node appended at (or claimed) per partition;
/// its cursor writes are fenced by it. A partition never appended to here is
/// at [`Epoch::SINGLE_NODE`], what a node on its own writes everything at.
#[derive(Debug, Default)]
pub(crate) struct OwnerEpochs {
    epochs: Mutex<HashMap<PartitionRef, Epoch>>,
}

impl OwnerEpochs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PartitionRef, Epoch>> {
        self.epochs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The epoch this node writes `at`'s cursors as.
    pub(crate) fn of(&self, at: &PartitionRef) -> Epoch {
        self.lock().get(at).copied().unwrap_or(Epoch::SINGLE_NODE)
    }

    /// Records an append at `epoch`; true when that raised this node's epoch
    /// on `at` (it claimed the partition).
    pub(crate) fn appended_at(&self, at: &PartitionRef, epoch: Epoch) -> bool {
        let mut epochs = self.lock();
        let known = epochs.entry(at.clone()).or_insert(Epoch::SINGLE_NODE);
        let raised = epoch > *known;
        if raised {
            *known = epoch;
        }
        raised
    }

    /// Forgets `at` (its topic was deleted).
    pub(crate) fn forget(&self, at: &PartitionRef) {
        self.lock().remove(at);
    }
}

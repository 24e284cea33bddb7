//! The seam between the broker and metadata consensus.
//!
//! Every metadata change is a [`cluster::Command`] passed to [`MetadataStore::propose`].
//! On a single node the command is applied here, at once; the cluster work puts
//! Raft behind this same interface without changing callers.

use std::sync::RwLock;

use cluster::{Command, Metadata, MetadataError, Reply};

/// The node's view of the metadata and the way to change it.
#[derive(Debug, Default)]
pub struct MetadataStore {
    state: RwLock<Metadata>,
}

impl MetadataStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `command` (on one node) and returns what it did.
    pub async fn propose(&self, command: Command) -> Result<Reply, MetadataError> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .apply(command)
    }

    /// Reads the current metadata. Keep `f` short: it holds a lock.
    pub fn read<T>(&self, f: impl FnOnce(&Metadata) -> T) -> T {
        f(&self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

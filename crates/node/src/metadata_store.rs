//! The seam between the broker and metadata consensus.
//!
//! Every metadata change is a [`cluster::Command`] passed to [`MetadataStore::propose`].
//! On a single node the command is applied here, at once; the cluster work puts
//! Raft behind this same interface without changing callers.
//!
//! Every applied command bumps a version that [`MetadataStore::changes`]
//! watches, so background tasks (the push dispatchers) follow the metadata
//! without each write path having to call them.

use std::sync::RwLock;

use cluster::{Command, Metadata, MetadataError, Reply};
use tokio::sync::watch;

/// The node's view of the metadata and the way to change it.
#[derive(Debug)]
pub struct MetadataStore {
    state: RwLock<Metadata>,
    /// How many commands have been applied.
    version: watch::Sender<u64>,
}

impl MetadataStore {
    pub fn new() -> Self {
        Self {
            state: RwLock::default(),
            version: watch::Sender::new(0),
        }
    }

    /// Applies `command` (on one node) and returns what it did.
    pub async fn propose(&self, command: Command) -> Result<Reply, MetadataError> {
        let reply = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .apply(command)?;
        // The write lock is released here, so a woken watcher reads the new state.
        self.version.send_modify(|v| *v += 1);
        Ok(reply)
    }

    /// Reads the current metadata. Keep `f` short: it holds a lock.
    pub fn read<T>(&self, f: impl FnOnce(&Metadata) -> T) -> T {
        f(&self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Changes after every applied command. Mark the value seen before reading
    /// the metadata, so no change falls between the read and the next wait.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

impl Default for MetadataStore {
    fn default() -> Self {
        Self::new()
    }
}

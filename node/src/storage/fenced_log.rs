//! [`FencedLog`]: appends carrying the writer's owner epoch, which a backend
//! checks against the newest it has seen.

use async_trait::async_trait;

use super::{AppendOptions, Epoch, NewMessage, PartitionRef, StorageError};

/// What a backend (memory, Redis) adds to [`MessageLog`](super::MessageLog):
/// appends fenced by the epoch of the owner that writes them.
///
/// Only the layer that knows who owns a partition calls it: routed storage
/// on the owner node, with the epoch the owner's metadata gives it, and the
/// storage sync claiming a partition this node gained.
#[async_trait]
pub trait FencedLog: Send + Sync {
    /// Appends a batch atomically as the owner at `epoch` and returns the
    /// offsets, in order; `epoch` becomes the partition's newest. Fails with
    /// [`StorageError::Fenced`] and stores nothing if the partition has seen
    /// a newer epoch. An empty batch only raises the epoch: it fences the
    /// previous owner at once.
    async fn append_fenced(
        &self,
        partition: &PartitionRef,
        epoch: Epoch,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError>;
}

//! [`Readiness`]: whether this broker can serve now, for `/readyz`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::broker::metadata_view::MetadataView;
use crate::storage::Storage;

/// Looks at what serving needs: not shutting down, a metadata leader, storage.
#[derive(Debug)]
pub struct Readiness {
    metadata: MetadataView,
    storage: Arc<dyn Storage>,
    shutdown: CancellationToken,
}

impl Readiness {
    pub fn new(
        metadata: MetadataView,
        storage: Arc<dyn Storage>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            metadata,
            storage,
            shutdown,
        }
    }

    /// Why this broker cannot serve now, if it cannot: shutting down, no
    /// metadata leader, or storage not answering.
    pub async fn unready_reason(&self) -> Option<String> {
        if self.shutdown.is_cancelled() {
            return Some("the broker is shutting down".to_owned());
        }
        if let Some(reason) = self.metadata.store().unready_reason() {
            return Some(reason);
        }
        self.storage.ping().await.err().map(|e| e.to_string())
    }
}

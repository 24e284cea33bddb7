//! [`RoutedStorage`]: this node's storage as the broker sees it in a cluster,
//! each partition's call run on its owner (see the module map in `routing`).

use std::sync::Arc;

use super::{Placement, Route, StorageCall, StorageClient, StorageReply};
use crate::storage::{FencedStorage, StorageError};

/// A storage backend that runs each partition's calls on its owner node.
#[derive(Debug, Clone)]
pub struct RoutedStorage {
    pub(super) local: Arc<dyn FencedStorage>,
    pub(super) placement: Arc<dyn Placement>,
    client: StorageClient,
}

impl RoutedStorage {
    /// Routes by `placement`; runs owned partitions' calls, and every
    /// topic- and subscription-level call, on `local`.
    pub fn new(
        local: Arc<dyn FencedStorage>,
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
    pub(super) async fn dispatch(&self, call: StorageCall) -> Result<StorageReply, StorageError> {
        self.dispatch_keeping(call, false)
            .await
            .map_err(|(error, _)| error)
    }

    /// [`RoutedStorage::dispatch`], handing the call back with an error. A
    /// call sent to another node comes back as it was (it was only
    /// borrowed); one run here comes back only when `keep_local`, at the
    /// price of a copy made before it runs.
    pub(super) async fn dispatch_keeping(
        &self,
        call: StorageCall,
        keep_local: bool,
    ) -> Result<StorageReply, (StorageError, Option<StorageCall>)> {
        let mut refreshed = false;
        loop {
            let route = match self.placement.owner_route(call.partition()).await {
                Ok(route) => route,
                Err(e) => return Err((e, Some(call))),
            };
            match route {
                Route::Local { epoch } => {
                    // As a forwarded call would: the metadata this node has
                    // applied may name a topic its storage has not been given yet.
                    if let Err(e) = self.placement.caught_up_to(0).await {
                        return Err((e, Some(call)));
                    }
                    let copy = keep_local.then(|| call.clone());
                    return call
                        .run(self.local.as_ref(), epoch)
                        .await
                        .map_err(|e| (e, copy));
                }
                Route::Remote { peer_addr, .. } => {
                    let applied = self.placement.applied_index();
                    match self.client.send(&peer_addr, applied, &call).await {
                        Err(StorageError::Moved { .. }) if !refreshed => {
                            refreshed = true;
                            if let Err(e) = self.placement.refresh().await {
                                return Err((e, Some(call)));
                            }
                        }
                        Ok(reply) => return Ok(reply),
                        Err(e) => return Err((e, Some(call))),
                    }
                }
            }
        }
    }
}

/// The owner answered a reply of the wrong kind: a bug on one side, and the
/// call may have run.
pub(super) fn mismatched(call: &'static str, reply: &StorageReply) -> StorageError {
    StorageError::OutcomeUnknown {
        reason: format!("the owner answered {call} with {reply:?}"),
    }
}

/// Unpacks the one [`StorageReply`] variant a call returns.
macro_rules! expect_reply {
    ($reply:expr, $call:literal, $pattern:pat => $value:expr) => {
        match $reply {
            $pattern => Ok($value),
            other => Err($crate::routing::routed_storage::mismatched($call, &other)),
        }
    };
}
pub(super) use expect_reply;

//! The placement of a small routed-storage cluster, set by hand: every
//! partition has one owner, which a refresh may change; owner nodes serve
//! `routing::routes` on 127.0.0.1:0.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cluster::NodeId;
use node::broker::wakers::TopicWakers;
use node::routing::{
    DEFAULT_MAX_IN_FLIGHT, Placement, Route, RoutedStorage, StorageClient, routes,
};
use node::storage::memory::MemoryStorage;
use node::storage::{Epoch, FencedStorage, PartitionRef, StorageError};
use node::telemetry::routing_metrics::RoutingMetrics;
use tokio::net::TcpListener;

use crate::mirror::Mirror;

/// Who owns every partition, as one node sees it.
#[derive(Debug, Clone)]
pub struct Owner {
    pub node: u64,
    pub peer_addr: String,
}

/// One node's placement: every partition has the same owner, which the test
/// sets, and a refresh may switch to.
#[derive(Debug)]
pub struct TestPlacement {
    me: u64,
    owner: Mutex<Owner>,
    after_refresh: Mutex<Option<Owner>>,
    epoch: AtomicU64,
    applied: AtomicU64,
    refreshes: AtomicUsize,
    catch_ups: Mutex<Vec<u64>>,
    /// While true, served calls wait in `catch_up`.
    held: tokio::sync::watch::Sender<bool>,
}

impl TestPlacement {
    /// Node `me`, seeing `owner` own every partition at epoch 1.
    pub fn new(me: u64, owner: Owner) -> Arc<Self> {
        Arc::new(Self {
            me,
            owner: Mutex::new(owner),
            after_refresh: Mutex::new(None),
            epoch: AtomicU64::new(1),
            applied: AtomicU64::new(0),
            refreshes: AtomicUsize::new(0),
            catch_ups: Mutex::new(Vec::new()),
            held: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Node `me`, owning every partition itself.
    pub fn owning(me: u64) -> Arc<Self> {
        Self::new(
            me,
            Owner {
                node: me,
                peer_addr: String::new(),
            },
        )
    }

    /// The next refresh makes `owner` the owner of every partition.
    pub fn refresh_to(&self, owner: Owner) {
        *self.after_refresh.lock().expect("lock") = Some(owner);
    }

    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    pub fn set_applied(&self, index: u64) {
        self.applied.store(index, Ordering::SeqCst);
    }

    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// Served calls wait in `catch_up` (so they stay in flight) until
    /// [`TestPlacement::release`].
    pub fn hold(&self) {
        self.held.send_replace(true);
    }

    pub fn release(&self) {
        self.held.send_replace(false);
    }

    /// The index of each `catch_up` call, in order: one per call served.
    pub fn catch_ups(&self) -> Vec<u64> {
        self.catch_ups.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Placement for TestPlacement {
    fn route(&self, _partition: &PartitionRef) -> Route {
        let owner = self.owner.lock().expect("lock").clone();
        let epoch = Epoch::new(self.epoch.load(Ordering::SeqCst));
        if owner.node == self.me {
            Route::Local { epoch }
        } else {
            Route::Remote {
                node: NodeId::new(owner.node),
                peer_addr: owner.peer_addr,
            }
        }
    }

    fn applied_index(&self) -> u64 {
        self.applied.load(Ordering::SeqCst)
    }

    async fn catch_up(&self, index: u64) -> Result<(), StorageError> {
        self.catch_ups.lock().expect("lock").push(index);
        let _ = self.held.subscribe().wait_for(|held| !held).await;
        Ok(())
    }

    async fn refresh(&self) -> Result<(), StorageError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        if let Some(owner) = self.after_refresh.lock().expect("lock").take() {
            *self.owner.lock().expect("lock") = owner;
        }
        Ok(())
    }
}

/// Serves `routes(local, placement, unbounded memory)` on 127.0.0.1:0 until the test's runtime
/// ends; returns the peer address.
pub async fn serve(local: Arc<dyn FencedStorage>, placement: Arc<dyn Placement>) -> String {
    serve_capped(local, placement, DEFAULT_MAX_IN_FLIGHT).await
}

/// [`serve`] with at most `max_in_flight` calls (and watches) per caller.
pub async fn serve_capped(
    local: Arc<dyn FencedStorage>,
    placement: Arc<dyn Placement>,
    max_in_flight: usize,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let routes = routes(
        local,
        placement,
        node::overload::MemoryBudget::unbounded(),
        Arc::new(TopicWakers::default()),
        max_in_flight,
        RoutingMetrics::default(),
    );
    tokio::spawn(async move {
        axum::serve(listener, routes)
            .await
            .expect("peer port serves");
    });
    addr
}

/// A client with the default timeout.
pub fn client() -> StorageClient {
    StorageClient::new(StorageClient::DEFAULT_TIMEOUT).expect("client")
}

/// A client that gives up after `timeout`.
pub fn client_with(timeout: Duration) -> StorageClient {
    StorageClient::new(timeout).expect("client")
}

/// The conformance suite's backend: a calling node (1) that owns nothing, in
/// front of an owner node (2) on a real socket.
pub async fn remote_only() -> RoutedStorage {
    let owner = Arc::new(MemoryStorage::new());
    let peer_addr = serve(owner.clone(), TestPlacement::owning(2)).await;
    let placement = TestPlacement::new(1, Owner { node: 2, peer_addr });
    RoutedStorage::new(Arc::new(Mirror::of(vec![owner])), placement, client())
}

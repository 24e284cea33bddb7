//! The peer port's in-flight cap: a caller with `max` calls in flight on an
//! owner has its next call refused at once with `503` and a problem+json body
//! (it did not run), and calls again once one finished; watches have their own
//! cap. A caller that keeps to the cap itself holds its next call back until
//! a slot frees, instead of sending it to be refused.

use std::sync::Arc;
use std::time::Duration;

use node::routing::{PEER_NODE_HEADER, RoutedStorage, StorageClient, WatchRequest};
use node::storage::memory::MemoryStorage;
use node::storage::{MessageLog, StorageError};
use node::telemetry::routing_metrics::RoutingMetrics;
use prometheus_client::registry::Registry;
use testkit::wait_for;
use tokio::task::JoinHandle;

use crate::mirror::Mirror;
use crate::placement::{Owner, TestPlacement, client, serve_capped};
use crate::{message, orders};

const CAP: usize = 2;

/// An owner allowing [`CAP`] calls per caller, a caller routing to it through
/// `client`, and [`CAP`] appends from that caller held in flight on the owner.
struct HeldOwner {
    owner: Arc<MemoryStorage>,
    owner_placement: Arc<TestPlacement>,
    peer_addr: String,
    storage: Arc<RoutedStorage>,
    held: Vec<JoinHandle<Result<Vec<u64>, StorageError>>>,
}

impl HeldOwner {
    async fn new(client: StorageClient) -> Self {
        let owner = Arc::new(MemoryStorage::new());
        owner
            .create_topic(&orders(0).topic, 1)
            .await
            .expect("topic on the owner");
        let owner_placement = TestPlacement::owning(2);
        let peer_addr = serve_capped(owner.clone(), owner_placement.clone(), CAP).await;
        let placement = TestPlacement::new(
            1,
            Owner {
                node: 2,
                peer_addr: peer_addr.clone(),
            },
        );
        let storage = Arc::new(RoutedStorage::new(
            Arc::new(Mirror::of(vec![owner.clone()])),
            placement,
            client,
        ));
        owner_placement.hold();
        let mut this = Self {
            owner,
            owner_placement,
            peer_addr,
            storage,
            held: Vec::new(),
        };
        this.held = (0..CAP).map(|i| this.append(format!("held-{i}"))).collect();
        wait_for(
            "both calls in flight on the owner",
            Duration::from_secs(10),
            || async { (this.owner_placement.catch_ups().len() == CAP).then_some(()) },
        )
        .await
        .expect("calls in flight");
        this
    }

    fn append(&self, data: String) -> JoinHandle<Result<Vec<u64>, StorageError>> {
        let storage = self.storage.clone();
        tokio::spawn(async move { storage.append(&orders(0), vec![message(&data)]).await })
    }

    /// Lets the held calls finish; each must have stored its message.
    async fn release(mut self) -> Self {
        self.owner_placement.release();
        for call in std::mem::take(&mut self.held) {
            call.await.expect("task").expect("a held append is stored");
        }
        self
    }
}

#[test_log::test(tokio::test)]
async fn calls_beyond_the_cap_are_refused_with_503_and_did_not_run() {
    tracing::info!("arrange: an owner allowing {CAP} calls in flight per caller, holding them");
    let held =
        HeldOwner::new(client().identified(cluster::NodeId::new(1), Default::default())).await;

    tracing::info!("act: one more call from the same node, and the raw answer to it");
    let refused = held
        .storage
        .append(&orders(0), vec![message("refused")])
        .await;
    let raw = testkit::client::http()
        .post(format!(
            "http://{}{}",
            held.peer_addr,
            node::routing::CALL_PATH
        ))
        .header(PEER_NODE_HEADER, "1")
        .body(vec![1u8])
        .send()
        .await
        .expect("an answer");

    tracing::info!("assert: refused before running, as problem+json with a stable code");
    assert!(
        matches!(&refused, Err(StorageError::Unavailable { reason }) if reason.contains("in flight")),
        "got {refused:?}"
    );
    assert_eq!(raw.status(), 503);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");
    assert_eq!(raw.headers()["retry-after"], "1");
    let problem: api::Problem = raw.json().await.expect("a problem body");
    assert_eq!(problem.code, api::ErrorCode::Unavailable);
    assert_eq!(
        held.owner_placement.catch_ups().len(),
        CAP,
        "the refused call never ran"
    );

    tracing::info!("assert: the held calls finish, and the caller may call again");
    let held = held.release().await;
    held.storage
        .append(&orders(0), vec![message("after")])
        .await
        .expect("room again once calls finished");
    let stored = held.owner.read(&orders(0), 0, 10).await.expect("read");
    assert_eq!(stored.len(), CAP + 1, "the refused message was not stored");
}

#[test_log::test(tokio::test)]
async fn watches_have_their_own_cap() {
    let owner = Arc::new(MemoryStorage::new());
    let peer_addr = serve_capped(owner, TestPlacement::owning(2), 1).await;
    let client = client().identified(cluster::NodeId::new(1), Default::default());
    let request = WatchRequest {
        topic: orders(0).topic,
        since: None,
        wait_millis: 0,
    };
    let generation = client
        .watch(&peer_addr, &request)
        .await
        .expect("current generation");
    let waiting = WatchRequest {
        since: Some(generation),
        wait_millis: 20_000,
        ..request
    };
    let watch = || {
        let (client, addr, waiting) = (client.clone(), peer_addr.clone(), waiting.clone());
        tokio::spawn(async move { client.watch(&addr, &waiting).await })
    };
    // Two watches that each wait 20 s: whichever reaches the owner second is
    // refused at once, the other keeps waiting.
    let (mut first, mut second) = (watch(), watch());
    let (refused, held) = tokio::select! {
        answer = &mut first => (answer, second),
        answer = &mut second => (answer, first),
    };
    let refused = refused.expect("task");
    assert!(
        matches!(&refused, Err(StorageError::Unavailable { reason }) if reason.contains("503") && reason.contains("watch")),
        "got {refused:?}"
    );
    assert!(!held.is_finished(), "the admitted watch still waits");
    held.abort();
}

/// `pubsubgo_peer_calls_waiting{kind="call"}` in `registry`.
fn calls_waiting(registry: &Registry) -> Option<u64> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
    text.lines()
        .find_map(|line| line.strip_prefix("pubsubgo_peer_calls_waiting{kind=\"call\"} "))
        .and_then(|value| value.trim().parse().ok())
}

#[test_log::test(tokio::test)]
async fn a_caller_keeping_to_the_cap_holds_its_next_call_back_until_a_slot_frees() {
    tracing::info!(
        "arrange: an owner allowing {CAP} calls per caller, holding them; a caller keeping to {CAP}"
    );
    let mut registry = Registry::default();
    let metrics = RoutingMetrics::register(&mut registry);
    let held = HeldOwner::new(
        client()
            .identified(cluster::NodeId::new(1), metrics)
            .max_in_flight(CAP),
    )
    .await;

    tracing::info!("act: one more call from the same node, while both are held");
    let queued = held.append("queued".to_owned());
    wait_for(
        "the third call waiting on the caller",
        Duration::from_secs(10),
        || async { (calls_waiting(&registry) == Some(1)).then_some(()) },
    )
    .await
    .expect("the call waits for a slot");
    assert_eq!(
        held.owner_placement.catch_ups().len(),
        CAP,
        "the waiting call has not reached the owner"
    );

    tracing::info!("assert: once the held calls finish, the waiting one runs and is stored");
    let held = held.release().await;
    queued
        .await
        .expect("task")
        .expect("the waiting call ran once a slot freed, not refused");
    assert_eq!(calls_waiting(&registry), Some(0));
    let stored = held.owner.read(&orders(0), 0, 10).await.expect("read");
    assert_eq!(stored.len(), CAP + 1);
}

//! Who runs a routed call: an owner that moved is found after one refresh (a
//! second move goes back to the caller), the owner writes with its own epoch,
//! an owned partition runs locally, and a new subscription reaches the owner
//! before its create returns.

use std::sync::Arc;

use cluster::{Epoch, NodeId};
use node::routing::RoutedStorage;
use node::storage::memory::MemoryStorage;
use node::storage::{AppendOptions, FencedLog, MessageLog, StorageError};

use crate::mirror::Mirror;
use crate::placement::{Owner, TestPlacement, client, serve};
use crate::{message, orders};

/// Node 1 calls; node 2 owned the partitions until they moved to node 3.
/// Node 2 already knows; node 1 learns it only by refreshing.
struct Moved {
    caller: RoutedStorage,
    placement: Arc<TestPlacement>,
    old: Arc<MemoryStorage>,
    old_placement: Arc<TestPlacement>,
    new: Arc<MemoryStorage>,
    new_addr: String,
    new_placement: Arc<TestPlacement>,
}

impl Moved {
    async fn arrange() -> Self {
        let new = Arc::new(MemoryStorage::new());
        let new_placement = TestPlacement::owning(3);
        let new_addr = serve(new.clone(), new_placement.clone()).await;
        let old = Arc::new(MemoryStorage::new());
        let old_placement = TestPlacement::new(
            2,
            Owner {
                node: 3,
                peer_addr: new_addr.clone(),
            },
        );
        let old_addr = serve(old.clone(), old_placement.clone()).await;
        let placement = TestPlacement::new(
            1,
            Owner {
                node: 2,
                peer_addr: old_addr,
            },
        );
        placement.set_applied(42);
        let mirror = Mirror::of(vec![old.clone(), new.clone()]);
        let caller = RoutedStorage::new(Arc::new(mirror), placement.clone(), client());
        caller
            .create_topic(&orders(0).topic, 1)
            .await
            .expect("create topic");
        Self {
            caller,
            placement,
            old,
            old_placement,
            new,
            new_addr,
            new_placement,
        }
    }
}

#[test_log::test(tokio::test)]
async fn an_owner_that_moved_is_found_after_one_refresh() {
    let cluster = Moved::arrange().await;
    cluster.placement.refresh_to(Owner {
        node: 3,
        peer_addr: cluster.new_addr.clone(),
    });

    tracing::info!("act: append through node 1, which still routes to node 2");
    let offsets = cluster
        .caller
        .append(&orders(0), vec![message("a")])
        .await
        .expect("append reaches the new owner");

    assert_eq!(offsets, vec![0]);
    assert_eq!(cluster.placement.refreshes(), 1, "one refresh");
    assert_eq!(
        cluster.old_placement.catch_ups(),
        vec![42],
        "the old owner caught up to the caller's index, then answered Moved"
    );
    assert_eq!(cluster.new_placement.catch_ups(), vec![42]);
    let stored = |s: &Arc<MemoryStorage>| {
        let s = s.clone();
        async move { s.offsets(&orders(0)).await.expect("offsets").end }
    };
    assert_eq!(stored(&cluster.new).await, 1, "stored on the new owner");
    assert_eq!(stored(&cluster.old).await, 0, "nothing on the old owner");
}

#[test_log::test(tokio::test)]
async fn a_second_moved_is_returned_to_the_caller() {
    let cluster = Moved::arrange().await;

    tracing::info!("act: the refresh brings no news, so node 2 answers Moved twice");
    let result = cluster.caller.append(&orders(0), vec![message("a")]).await;

    assert!(
        matches!(
            &result,
            Err(StorageError::Moved {
                topic,
                partition: 0,
                owner,
            }) if topic == "orders" && *owner == Some(NodeId::new(3))
        ),
        "got {result:?}"
    );
    assert_eq!(cluster.placement.refreshes(), 1, "refreshed once, not more");
    assert_eq!(cluster.old_placement.catch_ups().len(), 2, "tried twice");
    assert!(cluster.new_placement.catch_ups().is_empty());
    let end = cluster.new.offsets(&orders(0)).await.expect("offsets").end;
    assert_eq!(end, 0);
}

#[test_log::test(tokio::test)]
async fn the_owner_writes_with_its_own_epoch_and_a_stale_owner_is_fenced() {
    let owner = Arc::new(MemoryStorage::new());
    let owner_placement = TestPlacement::owning(2);
    owner_placement.set_epoch(5);
    let peer_addr = serve(owner.clone(), owner_placement.clone()).await;
    let placement = TestPlacement::new(1, Owner { node: 2, peer_addr });
    let caller = RoutedStorage::new(Arc::new(Mirror::of(vec![owner])), placement, client());
    caller
        .create_topic(&orders(0).topic, 1)
        .await
        .expect("create topic");
    caller
        .append(&orders(0), vec![message("at epoch 5")])
        .await
        .expect("the owner writes at its epoch 5; the caller passes none");

    tracing::info!("act: the owner's view goes back to epoch 4");
    owner_placement.set_epoch(4);
    let stale = caller.append(&orders(0), vec![message("at epoch 4")]).await;

    assert!(
        matches!(
            stale,
            Err(StorageError::Fenced {
                attempted,
                current,
                ..
            }) if (attempted, current) == (Epoch::new(4), Epoch::new(5))
        ),
        "the backend's refusal crosses the wire: {stale:?}"
    );
}

#[test_log::test(tokio::test)]
async fn an_owned_partition_runs_locally_with_the_route_epoch() {
    let local = Arc::new(MemoryStorage::new());
    let placement = TestPlacement::owning(1);
    placement.set_epoch(3);
    let storage = RoutedStorage::new(local.clone(), placement.clone(), client());
    storage
        .create_topic(&orders(0).topic, 1)
        .await
        .expect("create topic");

    let offsets = storage
        .append(&orders(0), vec![message("a")])
        .await
        .expect("append");

    assert_eq!(offsets, vec![0]);
    let options = AppendOptions::plain(local.ack_level());
    let below = local
        .append_fenced(&orders(0), Epoch::new(2), vec![message("b")], &options)
        .await;
    assert!(
        matches!(below, Err(StorageError::Fenced { current, .. }) if current == Epoch::new(3)),
        "the append wrote epoch 3: {below:?}"
    );
    // A local call only brings local storage up to this node's own metadata.
    assert_eq!(
        placement.catch_ups(),
        vec![0],
        "the append, and no peer call"
    );
}

/// Creating a subscription also creates it on every other owner at once, so
/// its cursor starts before the subscription is committed and no owner can
/// take a message the start position should include before it has a cursor.
#[test_log::test(tokio::test)]
async fn creating_a_subscription_creates_it_on_the_owner_at_once() {
    use cluster::SubscriptionName;
    use cluster::subscription::StartPosition;
    use node::storage::{DeliveryPolicy, LeaseRequest, SubscriptionState};

    let owner = Arc::new(MemoryStorage::new());
    let owner_addr = serve(owner.clone(), TestPlacement::owning(2)).await;
    owner
        .create_topic(&orders(0).topic, 1)
        .await
        .expect("the owner knows the topic");
    let placement = TestPlacement::new(
        1,
        Owner {
            node: 2,
            peer_addr: owner_addr,
        },
    );
    // The caller's own backend is separate: nothing reaches the owner but calls.
    let caller = RoutedStorage::new(Arc::new(MemoryStorage::new()), placement, client());
    caller
        .create_topic(&orders(0).topic, 1)
        .await
        .expect("create topic");
    let sub = SubscriptionName::new("orders-sub").expect("valid name");
    caller
        .create_subscription(&sub, &orders(0).topic, 1, StartPosition::Latest)
        .await
        .expect("create subscription");

    owner
        .append(&orders(0), vec![message("right after")])
        .await
        .expect("append on the owner");
    let request = LeaseRequest {
        max_messages: 10,
        now_millis: 1_700_000_000_000,
        deadline_millis: 1_700_000_010_000,
        policy: DeliveryPolicy::default(),
    };
    let leased = owner
        .lease(&sub, &orders(0), request)
        .await
        .expect("the owner has the subscription");
    assert_eq!(leased.leased.len(), 1);
}

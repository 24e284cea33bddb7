//! An at-least-once lease stays in the owner's memory: neither it nor a call
//! that changes nothing (statistics) writes the cursor, and the next call that
//! changes it (here an ack) writes the lease with its own changes. The other
//! modes write each lease through. A late write (at shutdown) does not bring
//! back a deleted subscription. A second storage on the same prefix reads
//! Redis as a new owner would.

use api::types::AckLevel;
use cluster::SubscriptionName;
use cluster::subscription::DeliveryMode;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{
    AppendOptions, Backlog, DeliveryPolicy, DeliveryRef, Epoch, FencedLog, LeaseRequest,
    PartitionRef, SubscriptionState,
};
use testkit::redis::{shared_standalone, standalone_settings};
use testkit::storage::{message, orders_with_billing};

const T0: u64 = 1_700_000_000_000;

fn lease(max_messages: usize, mode: DeliveryMode) -> LeaseRequest {
    LeaseRequest {
        max_messages,
        now_millis: T0,
        deadline_millis: T0 + 60_000,
        policy: DeliveryPolicy {
            mode,
            ..DeliveryPolicy::default()
        },
    }
}

/// Topic `orders` (one partition) holding 4 messages, and subscription `billing`.
async fn orders() -> (RedisSettings, RedisStorage, PartitionRef, SubscriptionName) {
    let settings = standalone_settings(shared_standalone().url());
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    let (at, sub) = orders_with_billing(&storage).await;
    let messages = (0..4).map(|i| message(format!("m{i}"), T0)).collect();
    storage
        .append_fenced(
            &at,
            Epoch::SINGLE_NODE,
            messages,
            &AppendOptions::plain(AckLevel::Leader),
        )
        .await
        .expect("append");
    (settings, storage, at, sub)
}

/// `(unacked, outstanding)` as a new owner reading Redis would see it.
async fn in_redis(
    settings: &RedisSettings,
    at: &PartitionRef,
    sub: &SubscriptionName,
) -> (u64, u64) {
    let fresh = RedisStorage::connect(settings).await.expect("connect");
    let Backlog {
        unacked,
        outstanding,
        ..
    } = fresh.backlog(sub, at, T0).await.expect("backlog");
    (unacked, outstanding)
}

#[test_log::test(tokio::test)]
async fn an_at_least_once_lease_is_written_by_the_next_call_that_changes_the_cursor() {
    let (settings, storage, at, sub) = orders().await;
    let leased = storage
        .lease(&sub, &at, lease(3, DeliveryMode::AtLeastOnce))
        .await
        .expect("lease");
    assert_eq!(leased.leased.len(), 3);
    let here = storage.backlog(&sub, &at, T0).await.expect("backlog");
    assert_eq!((here.unacked, here.outstanding), (4, 3), "the owner knows");
    assert_eq!(
        in_redis(&settings, &at, &sub).await,
        (4, 0),
        "neither the lease nor the statistics wrote the cursor"
    );

    let first = DeliveryRef {
        offset: leased.leased[0].message.offset,
        attempt: 1,
    };
    storage
        .ack(&sub, &at, &[first], T0, false)
        .await
        .expect("ack");
    assert_eq!(
        in_redis(&settings, &at, &sub).await,
        (3, 2),
        "the ack wrote itself and the two leases before it"
    );
}

#[test_log::test(tokio::test)]
async fn exactly_once_and_at_most_once_leases_are_written_before_they_return() {
    for (mode, expected) in [
        (DeliveryMode::ExactlyOnce, (4, 2)),
        (DeliveryMode::AtMostOnce, (2, 0)),
    ] {
        let (settings, storage, at, sub) = orders().await;
        let leased = storage
            .lease(&sub, &at, lease(2, mode))
            .await
            .expect("lease");
        assert_eq!(leased.leased.len(), 2);
        assert_eq!(in_redis(&settings, &at, &sub).await, expected, "{mode:?}");
    }
}

#[test_log::test(tokio::test)]
async fn held_leases_written_after_their_subscription_was_deleted_do_not_bring_it_back() {
    let (settings, owner, at, sub) = orders().await;
    owner
        .lease(&sub, &at, lease(2, DeliveryMode::AtLeastOnce))
        .await
        .expect("lease");
    let other = RedisStorage::connect(&settings).await.expect("connect");
    other
        .delete_subscription(&sub, &at.topic, 1)
        .await
        .expect("delete");

    owner.write_held_state().await;

    let fresh = RedisStorage::connect(&settings).await.expect("connect");
    let gone = fresh.backlog(&sub, &at, T0).await;
    assert!(
        matches!(gone, Err(node::storage::StorageError::NotFound { .. })),
        "the late write re-created the cursor: {gone:?}"
    );
}

//! Cursor writes on Redis are fenced by the owner epoch, as appends are: once
//! a partition's new owner claimed it, the old owner's working copy writes
//! nothing. The chaos harness's `isolate` scenario found the bug this guards
//! against: a node cut off mid-delivery wrote its cursor after the partition
//! had moved (its write held in the network until the heal), and a message
//! the new owner had dead-lettered was delivered again and died twice.

use api::types::AckLevel;
use cluster::SubscriptionName;
use node::storage::redis::RedisStorage;
use node::storage::{
    AppendOptions, DeliveryPolicy, DeliveryRef, Epoch, FencedLog, LeaseRequest, Nack, PartitionRef,
    StorageError, SubscriptionState,
};

use testkit::redis::{shared_standalone, standalone_settings};
use testkit::storage::{message, orders_with_billing};

const T0: u64 = 1_700_000_000_000;

/// Dead-letters a message at its second failed delivery.
const POLICY: DeliveryPolicy = DeliveryPolicy {
    ordered: false,
    retry: None,
    max_attempts: Some(2),
    mode: cluster::subscription::DeliveryMode::AtLeastOnce,
};

fn lease_one(now_millis: u64) -> LeaseRequest {
    LeaseRequest {
        max_messages: 1,
        now_millis,
        deadline_millis: now_millis + 10_000,
        policy: POLICY,
    }
}

fn claim_options() -> AppendOptions {
    AppendOptions::plain(AckLevel::Leader)
}

/// Two storages on one fresh prefix, as the old and the new owner of
/// partition 0 of `orders`, which the old one creates with subscription `billing`.
async fn two_owners() -> (RedisStorage, RedisStorage, PartitionRef, SubscriptionName) {
    let settings = standalone_settings(shared_standalone().url());
    let old = RedisStorage::connect(&settings).await.expect("connect");
    let new = RedisStorage::connect(&settings).await.expect("connect");
    let (at, sub) = orders_with_billing(&old).await;
    (old, new, at, sub)
}

#[test_log::test(tokio::test)]
async fn a_stale_owner_cannot_bring_a_dead_letter_back() {
    let (old, new, at, sub) = two_owners().await;

    tracing::info!("arrange: the old owner, at epoch 2, stores m0 and delivers it (attempt 1)");
    old.append_fenced(
        &at,
        Epoch::new(2),
        vec![message("m0", T0)],
        &claim_options(),
    )
    .await
    .expect("append");
    let first = old.lease(&sub, &at, lease_one(T0)).await.expect("lease");
    assert_eq!(first.leased.len(), 1);
    assert_eq!(first.leased[0].attempt, 1);
    // An at-least-once lease stays in memory; a deadline change writes it.
    let delivered = [DeliveryRef {
        offset: 0,
        attempt: 1,
    }];
    old.extend(&sub, &at, &delivered, T0 + 10_000, T0)
        .await
        .expect("extend");

    tracing::info!("arrange: the partition moves; the new owner claims epoch 3");
    new.append_fenced(&at, Epoch::new(3), Vec::new(), &claim_options())
        .await
        .expect("claim");
    tracing::info!("arrange: the lease expired; the new owner delivers m0 again and it dies");
    let later = T0 + 20_000;
    let second = new.lease(&sub, &at, lease_one(later)).await.expect("lease");
    assert_eq!(second.leased.len(), 1);
    assert_eq!(second.leased[0].attempt, 2);
    let died = new
        .nack(
            &sub,
            &at,
            &[DeliveryRef {
                offset: 0,
                attempt: 2,
            }],
            &Nack::default(),
            later,
            POLICY,
        )
        .await
        .expect("nack");
    assert_eq!(died.len(), 1, "m0 is dead-lettered at its last attempt");

    tracing::info!("act: the old owner, cut off, nacks its own delivery from its working copy");
    let stale = old
        .nack(
            &sub,
            &at,
            &[DeliveryRef {
                offset: 0,
                attempt: 1,
            }],
            &Nack::default(),
            T0 + 5_000,
            POLICY,
        )
        .await;

    tracing::info!("assert: refused as fenced; the new owner, reloading, finds m0 dead");
    assert!(
        matches!(stale, Err(StorageError::Fenced { .. })),
        "the old owner's cursor write was accepted: {stale:?}"
    );
    new.release_partition(&at).await;
    let third = new
        .lease(&sub, &at, lease_one(later + 20_000))
        .await
        .expect("lease");
    assert!(
        third.leased.is_empty(),
        "a dead letter was delivered again: {:?}",
        third.leased
    );
    let dead = new.dead_letters(&sub, &at, 10).await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
}

#[test_log::test(tokio::test)]
async fn a_claim_drops_the_cursors_loaded_before_it() {
    let (old, new, at, sub) = two_owners().await;
    old.append_fenced(
        &at,
        Epoch::new(2),
        vec![message("m0", T0)],
        &claim_options(),
    )
    .await
    .expect("append");

    tracing::info!("arrange: the new owner reads the cursor before its claim lands");
    let before = new.backlog(&sub, &at, T0).await.expect("backlog");
    assert_eq!(before.unacked, 1);
    tracing::info!("arrange: meanwhile the old owner delivers m0 and it is acked");
    let leased = old.lease(&sub, &at, lease_one(T0)).await.expect("lease");
    let delivery = DeliveryRef {
        offset: 0,
        attempt: leased.leased[0].attempt,
    };
    old.ack(&sub, &at, &[delivery], T0, false)
        .await
        .expect("ack");

    tracing::info!("act: the new owner's claim lands, then it leases");
    new.append_fenced(&at, Epoch::new(3), Vec::new(), &claim_options())
        .await
        .expect("claim");
    let after = new
        .lease(&sub, &at, lease_one(T0 + 1_000))
        .await
        .expect("lease");

    tracing::info!("assert: it reloaded the cursor: the acked m0 is not delivered again");
    assert!(
        after.leased.is_empty(),
        "leased from a cursor loaded before the claim: {:?}",
        after.leased
    );
}

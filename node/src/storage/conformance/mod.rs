//! The behaviour every storage backend must have, as runnable checks.
//!
//! Each `check_*` function arranges its own topic, so checks may share one
//! backend. [`suite!`] expands to one `#[tokio::test]` per check for a backend
//! expression: `conformance::suite!(MemoryStorage::new());`.
//!
//! - [`log`]: appends, offsets, fencing, retention.
//! - [`bounds`]: size bounds at append and their discard policies.
//! - [`leases`]: leasing, acks, deadlines, nacks, ordering keys, backlog.
//! - [`policies`]: retry backoff, dead letters and redrive, parked keys,
//!   priorities, delay, TTL, delivery modes, seek.

pub mod bounds;
pub mod leases;
pub mod log;
pub mod policies;

use std::collections::BTreeMap;

use bytes::Bytes;
use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};

use super::{DeliveryPolicy, DeliveryRef, LeaseRequest, Leased, NewMessage, PartitionRef, Storage};

pub use bounds::*;
pub use leases::*;
pub use log::*;
pub use policies::*;

const T0: u64 = 1_700_000_000_000;
const DEADLINE: u64 = 10_000;

fn topic(name: &str) -> TopicName {
    TopicName::new(name).expect("valid topic name")
}

fn sub(name: &str) -> SubscriptionName {
    SubscriptionName::new(name).expect("valid subscription name")
}

fn at(topic_name: &str, partition: u32) -> PartitionRef {
    PartitionRef {
        topic: topic(topic_name),
        partition,
    }
}

fn message(data: &str, key: Option<&str>, publish_time_millis: u64) -> NewMessage {
    NewMessage {
        data: Bytes::copy_from_slice(data.as_bytes()),
        attributes: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
        ordering_key: key.map(str::to_owned),
        priority: 4,
        publish_time_millis,
        deliver_at_millis: None,
        expire_at_millis: None,
    }
}

fn request(now: u64, max: usize, policy: DeliveryPolicy) -> LeaseRequest {
    LeaseRequest {
        max_messages: max,
        now_millis: now,
        deadline_millis: now + DEADLINE,
        policy,
    }
}

fn plain() -> DeliveryPolicy {
    DeliveryPolicy::default()
}

fn ordered() -> DeliveryPolicy {
    DeliveryPolicy {
        ordered: true,
        ..DeliveryPolicy::default()
    }
}

/// Leases and returns only the leased messages.
async fn lease(
    storage: &impl Storage,
    p: &PartitionRef,
    now: u64,
    max: usize,
    policy: DeliveryPolicy,
) -> Vec<Leased> {
    storage
        .lease(&sub("s-1"), p, request(now, max, policy))
        .await
        .expect("lease")
        .leased
}

/// A topic with one partition holding `messages`, and subscription `s-1` from the earliest.
async fn arrange_with(
    storage: &impl Storage,
    name: &str,
    messages: Vec<NewMessage>,
) -> PartitionRef {
    storage
        .create_topic(&topic(name), 1)
        .await
        .expect("create topic");
    storage
        .append(&at(name, 0), messages)
        .await
        .expect("append");
    storage
        .create_subscription(&sub("s-1"), &topic(name), 1, StartPosition::Earliest)
        .await
        .expect("create subscription");
    at(name, 0)
}

/// [`arrange_with`] one message per key (`m0`, `m1`, …), published at `T0`.
async fn arrange(storage: &impl Storage, name: &str, keys: &[Option<&str>]) -> PartitionRef {
    let batch = keys
        .iter()
        .enumerate()
        .map(|(i, key)| message(&format!("m{i}"), *key, T0))
        .collect();
    arrange_with(storage, name, batch).await
}

fn offsets_of(leased: &[Leased]) -> Vec<u64> {
    leased.iter().map(|l| l.message.offset).collect()
}

/// The ack references of `leased`, as a consumer would send them back.
pub fn refs(leased: &[Leased]) -> Vec<DeliveryRef> {
    leased
        .iter()
        .map(|l| DeliveryRef {
            offset: l.message.offset,
            attempt: l.attempt,
        })
        .collect()
}

/// One `#[tokio::test]` per check, each on a fresh backend from `$make`:
/// `suite!(MemoryStorage::new())`, or with an async constructor (a fresh key
/// prefix on a shared server, say) `suite!(async fresh_redis())`.
///
/// `suite!(owner_epoch, async make())` leaves out the one check that fences
/// by the epoch the caller passes ([`check_stale_epoch_is_fenced`], for a
/// [`FencedStorage`](crate::storage::FencedStorage)): for a storage whose
/// appends write with the epoch its partition owner holds and that takes
/// none from its caller (`routing::RoutedStorage`).
#[macro_export]
macro_rules! conformance_suite {
    (@tests $make:block; $($check:ident,)*) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::storage::conformance::$check($make).await;
            }
        )*
    };
    (@owner_epoch $make:block) => {
        $crate::conformance_suite!(@tests $make;
            check_append_assigns_dense_offsets,
            check_retention_trims_by_age_and_size,
            check_discard_old_keeps_the_newest_within_bounds,
            check_discard_new_refuses_when_full,
            check_trim_honours_the_message_bound,
            check_each_message_is_leased_once,
            check_expired_lease_is_redelivered,
            check_ack_is_final,
            check_extend_and_nack,
            check_ordered_leasing,
            check_backlog_and_start_positions,
            check_deleted_subscription_is_gone,
            check_retention_removes_unacked_messages,
            check_backoff_delays_redelivery,
            check_explicit_nack_delay,
            check_dead_letter_and_redrive,
            check_dead_letter_parks_ordering_key,
            check_priority_with_fairness,
            check_delayed_delivery,
            check_ttl_expiry,
            check_at_most_once,
            check_exactly_once_rejects_stale_acks,
            check_seek,
        );
    };
    (@all $make:block) => {
        $crate::conformance_suite!(@owner_epoch $make);
        $crate::conformance_suite!(@tests $make; check_stale_epoch_is_fenced,);
    };
    (owner_epoch, async $make:expr) => {
        $crate::conformance_suite!(@owner_epoch { $make.await });
    };
    (owner_epoch, $make:expr) => {
        $crate::conformance_suite!(@owner_epoch { $make });
    };
    (async $make:expr) => {
        $crate::conformance_suite!(@all { $make.await });
    };
    ($make:expr) => {
        $crate::conformance_suite!(@all { $make });
    };
}

pub use crate::conformance_suite as suite;

//! The behaviour every storage backend must have, as runnable checks.
//!
//! Each `check_*` function arranges its own topic, so checks may share one
//! backend. [`suite!`] expands to one `#[tokio::test]` per check for a backend
//! expression: `conformance::suite!(MemoryStorage::new());`.

use std::collections::BTreeMap;

use bytes::Bytes;
use cluster::subscription::StartPosition;
use cluster::{Retention, SubscriptionName, TopicName};

use super::{DeliveryRef, LeaseRequest, NewMessage, PartitionRef, Storage, StorageError};

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
    }
}

fn lease_at(now: u64, max: usize, ordered: bool) -> LeaseRequest {
    LeaseRequest {
        max_messages: max,
        now_millis: now,
        deadline_millis: now + DEADLINE,
        ordered,
    }
}

/// A topic with one partition, `n` messages and a subscription from the earliest.
async fn arrange(storage: &impl Storage, name: &str, keys: &[Option<&str>]) -> PartitionRef {
    storage
        .create_topic(&topic(name), 1)
        .await
        .expect("create topic");
    let batch = keys
        .iter()
        .enumerate()
        .map(|(i, key)| message(&format!("m{i}"), *key, T0))
        .collect();
    storage
        .append(&at(name, 0), 1, batch)
        .await
        .expect("append");
    storage
        .create_subscription(&sub("s-1"), &topic(name), 1, StartPosition::Earliest)
        .await
        .expect("create subscription");
    at(name, 0)
}

fn offsets_of(leased: &[super::Leased]) -> Vec<u64> {
    leased.iter().map(|l| l.message.offset).collect()
}

fn refs(leased: &[super::Leased]) -> Vec<DeliveryRef> {
    leased
        .iter()
        .map(|l| DeliveryRef {
            offset: l.message.offset,
            attempt: l.attempt,
        })
        .collect()
}

pub async fn check_append_assigns_dense_offsets(storage: impl Storage) {
    let p = at("append-offsets", 0);
    storage.create_topic(&p.topic, 2).await.expect("create");
    let first = storage
        .append(&p, 1, vec![message("a", None, T0), message("b", None, T0)])
        .await
        .expect("append");
    let second = storage
        .append(&p, 1, vec![message("c", None, T0)])
        .await
        .expect("append");
    assert_eq!((first, second), (vec![0, 1], vec![2]));
    let read = storage.read(&p, 1, 10).await.expect("read");
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].message.data, Bytes::from_static(b"b"));
    assert_eq!(read[0].message.attributes["k"], "v");
    let offsets = storage.offsets(&p).await.expect("offsets");
    assert_eq!((offsets.start, offsets.end), (0, 3));
    assert_eq!(
        offsets.bytes_appended,
        3 * 3,
        "one data byte plus \"k\"+\"v\" each"
    );
    let other = storage
        .offsets(&at("append-offsets", 1))
        .await
        .expect("offsets");
    assert_eq!(other.end, 0, "partitions are independent");
}

pub async fn check_stale_epoch_is_fenced(storage: impl Storage) {
    let p = at("fencing", 0);
    storage.create_topic(&p.topic, 1).await.expect("create");
    storage
        .append(&p, 5, vec![message("new owner", None, T0)])
        .await
        .expect("epoch 5");
    let stale = storage
        .append(&p, 4, vec![message("old owner", None, T0)])
        .await;
    assert!(
        matches!(
            stale,
            Err(StorageError::Fenced {
                attempted: 4,
                current: 5,
                ..
            })
        ),
        "got {stale:?}"
    );
    assert_eq!(
        storage.offsets(&p).await.expect("offsets").end,
        1,
        "nothing stored"
    );
}

pub async fn check_retention_trims_by_age_and_size(storage: impl Storage) {
    let p = at("retention", 0);
    storage.create_topic(&p.topic, 1).await.expect("create");
    let batch = (0..10).map(|i| message("x", None, T0 + i * 1000)).collect();
    storage.append(&p, 1, batch).await.expect("append");
    let by_age = Retention {
        max_age_millis: Some(5_000),
        max_bytes_per_partition: None,
    };
    let dropped = storage.trim(&p, &by_age, T0 + 9_000).await.expect("trim");
    assert_eq!(
        dropped, 4,
        "messages published before T0+4s are older than 5s"
    );
    let by_size = Retention {
        max_age_millis: None,
        max_bytes_per_partition: Some(9),
    };
    storage.trim(&p, &by_size, T0 + 9_000).await.expect("trim");
    let offsets = storage.offsets(&p).await.expect("offsets");
    assert_eq!(
        (offsets.start, offsets.end),
        (7, 10),
        "3 messages of 3 bytes fit in 9"
    );
    assert_eq!(storage.read(&p, 0, 100).await.expect("read")[0].offset, 7);
}

pub async fn check_each_message_is_leased_once(storage: impl Storage) {
    let p = arrange(&storage, "lease-once", &[None, None, None]).await;
    let first = storage
        .lease(&sub("s-1"), &p, lease_at(T0, 2, false))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&first), vec![0, 1]);
    assert!(first.iter().all(|l| l.attempt == 1));
    let second = storage
        .lease(&sub("s-1"), &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&second), vec![2]);
    let third = storage
        .lease(&sub("s-1"), &p, lease_at(T0 + 1, 10, false))
        .await
        .expect("lease");
    assert!(third.is_empty(), "everything is leased");
}

pub async fn check_expired_lease_is_redelivered(storage: impl Storage) {
    let p = arrange(&storage, "lease-expiry", &[None]).await;
    let s = sub("s-1");
    storage
        .lease(&s, &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    assert_eq!(
        storage.next_expiry(&s, &p).await.expect("expiry"),
        Some(T0 + DEADLINE)
    );
    let early = storage
        .lease(&s, &p, lease_at(T0 + DEADLINE - 1, 10, false))
        .await
        .expect("lease");
    assert!(early.is_empty(), "not before the deadline");
    let again = storage
        .lease(&s, &p, lease_at(T0 + DEADLINE, 10, false))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&again), vec![0]);
    assert_eq!(again[0].attempt, 2);
}

pub async fn check_ack_is_final(storage: impl Storage) {
    let p = arrange(&storage, "ack-final", &[None, None]).await;
    let s = sub("s-1");
    let leased = storage
        .lease(&s, &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    assert_eq!(
        storage.ack(&s, &p, &refs(&leased[..1])).await.expect("ack"),
        1
    );
    assert_eq!(
        storage.ack(&s, &p, &refs(&leased[..1])).await.expect("ack"),
        0,
        "acking twice is a no-op"
    );
    let later = storage
        .lease(&s, &p, lease_at(T0 + 3 * DEADLINE, 10, false))
        .await
        .expect("lease");
    assert_eq!(
        offsets_of(&later),
        vec![1],
        "only the unacked message returns"
    );
    // An ack for the expired first lease of message 1 still acks it.
    assert_eq!(
        storage.ack(&s, &p, &refs(&leased[1..])).await.expect("ack"),
        1
    );
    let backlog = storage
        .backlog(&s, &p, T0 + 3 * DEADLINE)
        .await
        .expect("backlog");
    assert_eq!((backlog.unacked, backlog.outstanding), (0, 0));
    let never = storage
        .lease(&s, &p, lease_at(T0 + 9 * DEADLINE, 10, false))
        .await
        .expect("lease");
    assert!(never.is_empty());
}

pub async fn check_extend_and_release(storage: impl Storage) {
    let p = arrange(&storage, "extend", &[None, None]).await;
    let s = sub("s-1");
    let leased = storage
        .lease(&s, &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    storage
        .extend(&s, &p, &refs(&leased[..1]), T0 + 5 * DEADLINE, T0)
        .await
        .expect("extend");
    storage
        .extend(&s, &p, &refs(&leased[1..]), T0, T0)
        .await
        .expect("release");
    let now = storage
        .lease(&s, &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    assert_eq!(
        offsets_of(&now),
        vec![1],
        "a released message is deliverable at once"
    );
    assert_eq!(now[0].attempt, 2);
    let stale = DeliveryRef {
        offset: 1,
        attempt: 1,
    };
    storage
        .extend(&s, &p, &[stale], T0, T0)
        .await
        .expect("stale release");
    let none = storage
        .lease(&s, &p, lease_at(T0 + 1, 10, false))
        .await
        .expect("lease");
    assert!(
        none.is_empty(),
        "a stale attempt cannot release the current lease"
    );
    let extended = storage
        .lease(&s, &p, lease_at(T0 + 2 * DEADLINE, 10, false))
        .await
        .expect("lease");
    assert_eq!(
        offsets_of(&extended),
        vec![1],
        "message 0 is still held by its extension"
    );
}

pub async fn check_ordered_leasing(storage: impl Storage) {
    let keys = [Some("a"), Some("a"), Some("b"), None, Some("a"), Some("b")];
    let p = arrange(&storage, "ordered", &keys).await;
    let s = sub("s-1");
    let first = storage
        .lease(&s, &p, lease_at(T0, 100, true))
        .await
        .expect("lease");
    assert_eq!(
        offsets_of(&first),
        vec![0, 2, 3],
        "one message per key, unkeyed flow"
    );
    storage
        .extend(&s, &p, &refs(&first[..1]), T0, T0)
        .await
        .expect("nack key a");
    let retry = storage
        .lease(&s, &p, lease_at(T0, 100, true))
        .await
        .expect("lease");
    assert_eq!(
        offsets_of(&retry),
        vec![0],
        "key a redelivers its first message before later ones"
    );
    storage.ack(&s, &p, &refs(&retry)).await.expect("ack");
    storage
        .ack(&s, &p, &refs(&first[1..2]))
        .await
        .expect("ack b");
    let next = storage
        .lease(&s, &p, lease_at(T0, 100, true))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&next), vec![1, 5]);
    storage.ack(&s, &p, &refs(&next)).await.expect("ack");
    let last = storage
        .lease(&s, &p, lease_at(T0, 100, true))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&last), vec![4]);
}

pub async fn check_backlog_and_start_positions(storage: impl Storage) {
    let p = arrange(&storage, "backlog", &[None, None, None]).await;
    storage
        .create_subscription(&sub("late"), &p.topic, 1, StartPosition::Latest)
        .await
        .expect("create");
    let s = sub("s-1");
    storage
        .lease(&s, &p, lease_at(T0, 2, false))
        .await
        .expect("lease");
    let backlog = storage.backlog(&s, &p, T0).await.expect("backlog");
    assert_eq!((backlog.unacked, backlog.outstanding), (3, 2));
    let late = storage
        .backlog(&sub("late"), &p, T0)
        .await
        .expect("backlog");
    assert_eq!(
        (late.unacked, late.outstanding),
        (0, 0),
        "latest skips existing messages"
    );
    storage
        .append(&p, 1, vec![message("new", None, T0)])
        .await
        .expect("append");
    let got = storage
        .lease(&sub("late"), &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&got), vec![3]);
}

pub async fn check_deleted_subscription_is_gone(storage: impl Storage) {
    let p = arrange(&storage, "deleted-sub", &[None]).await;
    storage
        .delete_subscription(&sub("s-1"), &p.topic)
        .await
        .expect("delete");
    let result = storage.lease(&sub("s-1"), &p, lease_at(T0, 1, false)).await;
    assert!(
        matches!(result, Err(StorageError::NotFound { .. })),
        "got {result:?}"
    );
    storage.delete_topic(&p.topic).await.expect("delete topic");
    assert!(matches!(
        storage.offsets(&p).await,
        Err(StorageError::NotFound { .. })
    ));
}

pub async fn check_retention_removes_unacked_messages(storage: impl Storage) {
    let p = arrange(&storage, "retention-sub", &[None, None, None]).await;
    let s = sub("s-1");
    storage
        .lease(&s, &p, lease_at(T0, 1, false))
        .await
        .expect("lease");
    let keep_one = Retention {
        max_age_millis: None,
        max_bytes_per_partition: Some(4),
    };
    storage.trim(&p, &keep_one, T0).await.expect("trim");
    let backlog = storage.backlog(&s, &p, T0).await.expect("backlog");
    assert_eq!(
        (backlog.unacked, backlog.outstanding),
        (1, 0),
        "retention wins over subscriptions"
    );
    let got = storage
        .lease(&s, &p, lease_at(T0, 10, false))
        .await
        .expect("lease");
    assert_eq!(offsets_of(&got), vec![2]);
}

/// One `#[tokio::test]` per check, each on a fresh backend from `$make`.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            check_append_assigns_dense_offsets,
            check_stale_epoch_is_fenced,
            check_retention_trims_by_age_and_size,
            check_each_message_is_leased_once,
            check_expired_lease_is_redelivered,
            check_ack_is_final,
            check_extend_and_release,
            check_ordered_leasing,
            check_backlog_and_start_positions,
            check_deleted_subscription_is_gone,
            check_retention_removes_unacked_messages,
        );
    };
    (@tests $make:expr; $($check:ident,)*) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::storage::conformance::$check($make).await;
            }
        )*
    };
}

pub use crate::conformance_suite as suite;

//! Size bounds at append: the discard policies of a topic's retention.

use cluster::{Discard, Retention};

use super::{T0, at, message};
use crate::storage::{AppendOptions, IdempotentAppend, NewMessage, Storage, StorageError};

/// Appends under `retention`, at the storage's own ack level.
fn bounded(storage: &impl Storage, retention: Retention) -> AppendOptions {
    AppendOptions {
        retention,
        ..AppendOptions::plain(storage.ack_level())
    }
}

fn sizes(max_messages: Option<u64>, max_bytes: Option<u64>, discard: Discard) -> Retention {
    Retention {
        max_age_millis: None,
        max_bytes_per_partition: max_bytes,
        max_messages_per_partition: max_messages,
        discard,
    }
}

/// `count` messages of 3 bytes each (one data byte, attribute `k=v`).
fn batch(count: u64, publish_time_millis: u64) -> Vec<NewMessage> {
    (0..count)
        .map(|i| message(&(i % 10).to_string(), None, publish_time_millis))
        .collect()
}

pub async fn check_discard_old_keeps_the_newest_within_bounds(storage: impl Storage) {
    let by_count = at("discard-old", 0);
    let by_bytes = at("discard-old", 1);
    storage
        .create_topic(&by_count.topic, 2)
        .await
        .expect("create");

    let three = bounded(&storage, sizes(Some(3), None, Discard::Old));
    let offsets = storage
        .append_with(&by_count, batch(5, T0), &three)
        .await
        .expect("a batch larger than the bound is stored");
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    let kept = storage.offsets(&by_count).await.expect("offsets");
    assert_eq!((kept.start, kept.end), (2, 5), "the newest 3 are kept");
    storage
        .append_with(&by_count, batch(2, T0), &three)
        .await
        .expect("append");
    let kept = storage.offsets(&by_count).await.expect("offsets");
    assert_eq!((kept.start, kept.end), (4, 7));
    let read = storage.read(&by_count, 0, 10).await.expect("read");
    assert_eq!(read.iter().map(|m| m.offset).collect::<Vec<_>>(), [4, 5, 6]);

    let nine_bytes = bounded(&storage, sizes(None, Some(9), Discard::Old));
    storage
        .append_with(&by_bytes, batch(4, T0), &nine_bytes)
        .await
        .expect("append");
    let kept = storage.offsets(&by_bytes).await.expect("offsets");
    assert_eq!(
        (kept.start, kept.end),
        (1, 4),
        "3 messages of 3 bytes fit in 9"
    );
}

pub async fn check_discard_new_refuses_when_full(storage: impl Storage) {
    let by_count = at("discard-new", 0);
    let by_bytes = at("discard-new", 1);
    storage
        .create_topic(&by_count.topic, 2)
        .await
        .expect("create");
    let three = bounded(&storage, sizes(Some(3), None, Discard::New));
    let keyed = AppendOptions {
        idempotency: Some(IdempotentAppend {
            key: "first".to_owned(),
            ttl_millis: 60_000,
        }),
        ..three.clone()
    };

    let first = storage
        .append_with(&by_count, batch(2, T0), &keyed)
        .await
        .expect("2 of 3");
    let refused = storage.append_with(&by_count, batch(2, T0), &three).await;
    assert!(
        matches!(&refused, Err(StorageError::PartitionFull { bound, .. }) if bound == "3 messages"),
        "4 would pass 3: {refused:?}"
    );
    assert_eq!(
        storage.offsets(&by_count).await.expect("offsets").end,
        2,
        "a refused batch stores nothing"
    );
    storage
        .append_with(&by_count, batch(1, T0), &three)
        .await
        .expect("3 of 3 fits");
    let replay = storage
        .append_with(&by_count, batch(2, T0), &keyed)
        .await
        .expect("a retry of a stored batch is answered, full or not");
    assert_eq!(replay, first);
    assert!(matches!(
        storage.append_with(&by_count, batch(1, T0), &three).await,
        Err(StorageError::PartitionFull { .. })
    ));

    let by_age = Retention {
        max_age_millis: Some(5_000),
        ..three.retention
    };
    storage
        .trim(&by_count, &by_age, T0 + 10_000)
        .await
        .expect("trim");
    storage
        .append_with(&by_count, batch(3, T0 + 10_000), &three)
        .await
        .expect("retention by age made room");

    let seven_bytes = bounded(&storage, sizes(None, Some(7), Discard::New));
    storage
        .append_with(&by_bytes, batch(2, T0), &seven_bytes)
        .await
        .expect("6 of 7 bytes");
    let refused = storage
        .append_with(&by_bytes, batch(1, T0), &seven_bytes)
        .await;
    assert!(
        matches!(&refused, Err(StorageError::PartitionFull { bound, .. }) if bound == "7 bytes"),
        "9 bytes would pass 7: {refused:?}"
    );
    let kept = storage.offsets(&by_bytes).await.expect("offsets");
    assert_eq!(
        (kept.start, kept.end),
        (0, 2),
        "nothing dropped, nothing added"
    );
}

pub async fn check_trim_honours_the_message_bound(storage: impl Storage) {
    let p = at("trim-count", 0);
    storage.create_topic(&p.topic, 1).await.expect("create");
    storage.append(&p, batch(10, T0)).await.expect("append");
    let dropped = storage
        .trim(&p, &sizes(Some(4), None, Discard::Old), T0)
        .await
        .expect("trim");
    assert_eq!(dropped, 6);
    let kept = storage.offsets(&p).await.expect("offsets");
    assert_eq!((kept.start, kept.end), (6, 10));
}

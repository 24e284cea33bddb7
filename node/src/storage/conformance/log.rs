//! Appends, offsets, fencing and retention.

use bytes::Bytes;
use cluster::Retention;

use super::{T0, at, message};
use crate::storage::{AppendOptions, Epoch, FencedStorage, Storage, StorageError};

pub async fn check_append_assigns_dense_offsets(storage: impl Storage) {
    let p = at("append-offsets", 0);
    storage.create_topic(&p.topic, 2).await.expect("create");
    let first = storage
        .append(&p, vec![message("a", None, T0), message("b", None, T0)])
        .await
        .expect("append");
    let second = storage
        .append(&p, vec![message("c", None, T0)])
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

pub async fn check_stale_epoch_is_fenced(storage: impl FencedStorage) {
    let p = at("fencing", 0);
    storage.create_topic(&p.topic, 1).await.expect("create");
    let options = AppendOptions::plain(storage.ack_level());
    let new_owner = vec![message("new owner", None, T0)];
    storage
        .append_fenced(&p, Epoch::new(5), new_owner, &options)
        .await
        .expect("epoch 5");
    let old_owner = vec![message("old owner", None, T0)];
    let stale = storage
        .append_fenced(&p, Epoch::new(4), old_owner, &options)
        .await;
    assert!(
        matches!(
            stale,
            Err(StorageError::Fenced {
                attempted,
                current,
                ..
            }) if (attempted, current) == (Epoch::new(4), Epoch::new(5))
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
    storage.append(&p, batch).await.expect("append");
    let by_age = Retention {
        max_age_millis: Some(5_000),
        max_bytes_per_partition: None,
        ..Retention::default()
    };
    let dropped = storage.trim(&p, &by_age, T0 + 9_000).await.expect("trim");
    assert_eq!(
        dropped, 4,
        "messages published before T0+4s are older than 5s"
    );
    let by_size = Retention {
        max_age_millis: None,
        max_bytes_per_partition: Some(9),
        ..Retention::default()
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

//! Routed calls over the wire: an unreachable owner means the call did not
//! run, an owner that never answers leaves writes unknown and reads
//! unavailable, and a full publish batch fits in one call.

use std::sync::Arc;
use std::time::Duration;

use api::limits::{MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_ORDERING_KEY_BYTES};
use bytes::Bytes;
use node::routing::RoutedStorage;
use node::storage::memory::MemoryStorage;
use node::storage::{AppendOptions, MessageLog, NewMessage, StorageError};
use tokio::net::TcpListener;

use crate::mirror::Mirror;
use crate::placement::{Owner, TestPlacement, client, client_with, serve};
use crate::{message, orders};

#[test_log::test(tokio::test)]
async fn an_unreachable_owner_means_the_call_did_not_run() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let peer_addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let placement = TestPlacement::new(1, Owner { node: 2, peer_addr });
    let storage = RoutedStorage::new(Arc::new(Mirror::of(vec![])), placement, client());

    let appended = storage.append(&orders(0), vec![message("a")]).await;

    assert!(
        matches!(appended, Err(StorageError::Unavailable { .. })),
        "connection refused: surely not stored, got {appended:?}"
    );
}

#[test_log::test(tokio::test)]
async fn an_append_an_unreachable_owner_did_not_run_hands_its_messages_back() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let peer_addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let placement = TestPlacement::new(1, Owner { node: 2, peer_addr });
    let storage = RoutedStorage::new(Arc::new(Mirror::of(vec![])), placement, client());
    let batch = vec![message("a"), message("b")];
    let options = AppendOptions::plain(storage.ack_level());

    // The publish path tries the next partition with what comes back.
    let appended = storage
        .append_with_returning(&orders(0), batch.clone(), &options)
        .await;

    match appended {
        Err((StorageError::Unavailable { .. }, Some(back))) => assert_eq!(back, batch),
        other => panic!("expected unavailable with the messages back, got {other:?}"),
    }
}

#[test_log::test(tokio::test)]
async fn an_owner_that_never_answers_leaves_writes_unknown_and_reads_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let peer_addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        // Accepts and reads nothing back: the request is sent, no answer comes.
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let placement = TestPlacement::new(1, Owner { node: 2, peer_addr });
    let client = client_with(Duration::from_millis(200));
    let storage = RoutedStorage::new(Arc::new(Mirror::of(vec![])), placement, client);

    let appended = storage.append(&orders(0), vec![message("a")]).await;
    let read = storage.offsets(&orders(0)).await;

    assert!(
        matches!(appended, Err(StorageError::OutcomeUnknown { .. })),
        "got {appended:?}"
    );
    assert!(
        matches!(read, Err(StorageError::Unavailable { .. })),
        "got {read:?}"
    );
}

#[test_log::test(tokio::test)]
async fn a_full_publish_batch_fits_in_one_call() {
    let owner = Arc::new(MemoryStorage::new());
    let peer_addr = serve(owner.clone(), TestPlacement::owning(2)).await;
    let placement = TestPlacement::new(1, Owner { node: 2, peer_addr });
    let storage = RoutedStorage::new(Arc::new(Mirror::of(vec![owner])), placement, client());
    storage
        .create_topic(&orders(0).topic, 1)
        .await
        .expect("create topic");
    let per_message = MAX_BATCH_BYTES / MAX_BATCH_MESSAGES;
    let batch: Vec<NewMessage> = (0..MAX_BATCH_MESSAGES)
        .map(|i| NewMessage {
            data: Bytes::from(vec![b'x'; per_message]),
            ordering_key: Some(format!("{i:0>width$}", width = MAX_ORDERING_KEY_BYTES)),
            ..message("")
        })
        .collect();

    let offsets = storage
        .append(&orders(0), batch)
        .await
        .expect("append a full batch");

    assert_eq!(offsets.len(), MAX_BATCH_MESSAGES);
    let last = storage
        .read(&orders(0), MAX_BATCH_MESSAGES as u64 - 1, 1)
        .await
        .expect("read");
    assert_eq!(last[0].message.data.len(), per_message);
}

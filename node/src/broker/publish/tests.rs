//! The publisher over memory storage with an idempotency cache too small to
//! keep every key: what the cache forgets, storage still answers.

use std::sync::Arc;

use api::types::{AckLevel, CreateTopicRequest, PublishMessage, PublishRequest, PublishResponse};
use cluster::TopicName;

use super::Publisher;
use super::dedup::{Claim, IdempotencyCache};
use crate::broker::catalog::Catalog;
use crate::broker::metadata_view::MetadataView;
use crate::broker::round_robin::RoundRobin;
use crate::broker::wakers::TopicWakers;
use crate::clock::Clock;
use crate::metadata_store::MetadataStore;
use crate::overload::budget::MemoryBudget;
use crate::storage::memory::MemoryStorage;
use crate::storage::{PartitionRef, Storage};
use crate::telemetry::Metrics;

fn request(text: &str) -> PublishRequest {
    PublishRequest {
        messages: vec![PublishMessage {
            data: text.into(),
            ..Default::default()
        }],
    }
}

/// The bytes the cache counts for one completed key like `payment-1` of a
/// one-message publish to `orders`.
fn one_entry_bytes() -> usize {
    let metrics = Arc::new(Metrics::new());
    let probe = IdempotencyCache::new(usize::MAX, metrics.clone(), MemoryBudget::unbounded());
    let topic = TopicName::new("orders").expect("name");
    assert!(matches!(probe.claim(&topic, "payment-1", 1, 0), Claim::New));
    let answer = PublishResponse {
        message_ids: vec!["0-0".into()],
        partitions: vec![0],
        offsets: vec![0],
        ack_level: AckLevel::Memory,
        deduplicated: false,
    };
    probe.complete(&topic, "payment-1", 1, answer, 1000);
    usize::try_from(metrics.idempotency_bytes.get()).expect("bytes")
}

#[tokio::test]
async fn a_retry_of_a_key_the_full_cache_evicted_stores_nothing_new_and_gets_the_first_offsets() {
    tracing::info!("arrange: a topic of 4 partitions, a cache with room for one key");
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let metadata = MetadataView::new(MetadataStore::local());
    let (clock, metrics) = (Clock::new(), Arc::new(Metrics::new()));
    let wakers = Arc::new(TopicWakers::default());
    let catalog = Catalog::new(
        metadata.clone(),
        storage.clone(),
        clock,
        metrics.clone(),
        wakers.clone(),
    );
    let topic = CreateTopicRequest {
        partitions: Some(4),
        ..Default::default()
    };
    catalog.create_topic("orders", topic).await.expect("topic");
    let publisher = Publisher::new(
        metadata,
        storage.clone(),
        clock,
        metrics.clone(),
        Arc::new(RoundRobin::default()),
        wakers,
        IdempotencyCache::new(
            one_entry_bytes() * 3 / 2,
            metrics.clone(),
            MemoryBudget::unbounded(),
        ),
        MemoryBudget::unbounded(),
    );

    tracing::info!("act: publish with key payment-1, let payment-2 evict it, retry payment-1");
    let first = publisher
        .publish("orders", request("pay 10"), Some("payment-1"))
        .await
        .expect("publish");
    publisher
        .publish("orders", request("pay 20"), Some("payment-2"))
        .await
        .expect("publish");
    assert_eq!(
        metrics.idempotency_evictions.get(),
        1,
        "payment-1 was evicted"
    );
    let retried = publisher
        .publish("orders", request("pay 10"), Some("payment-1"))
        .await
        .expect("retry");

    tracing::info!("assert: the first partitions and offsets, and two messages stored, not three");
    assert_eq!(
        (retried.partitions, retried.offsets),
        (first.partitions, first.offsets)
    );
    assert!(
        !retried.deduplicated,
        "only the cache knows an answer was replayed"
    );
    let mut stored = 0;
    for partition in 0..4 {
        let at = PartitionRef {
            topic: TopicName::new("orders").expect("name"),
            partition,
        };
        stored += storage.offsets(&at).await.expect("offsets").end;
    }
    assert_eq!(stored, 2);
}

/// Messages 0–1 stored in partition 0; 2 failed definitely in partition 1,
/// 3 with an unknown outcome in partition 2.
fn mixed() -> super::Appended {
    use crate::broker::error::BrokerError;
    use crate::storage::StorageError;
    super::Appended {
        placed: vec![Some((0, 7)), Some((0, 8)), None, None],
        failed_with: vec![None, None, Some(0), Some(1)],
        errors: vec![
            BrokerError::Storage(StorageError::Unavailable {
                reason: "refused".to_owned(),
            }),
            BrokerError::Storage(StorageError::OutcomeUnknown {
                reason: "timed out".to_owned(),
            }),
        ],
        ack_level: AckLevel::Leader,
    }
}

#[test]
fn a_request_answers_a_definite_failure_only_if_nothing_of_it_may_have_been_stored() {
    use super::Failure;
    let appended = mixed();
    tracing::info!("all stored: no failure; all failed definitely: that failure");
    assert_eq!(appended.failure_of(0..2), None);
    assert_eq!(appended.failure_of(2..3), Some(Failure::Error(0)));
    tracing::info!("an unknown outcome wins over a definite failure");
    assert_eq!(appended.failure_of(2..4), Some(Failure::Error(1)));
    tracing::info!("partly stored: an unknown outcome, whatever the failures were");
    let partial = appended.failure_of(1..3).expect("a failure");
    assert_eq!(partial, Failure::Partial { stored: 1, of: 2 });
    let error = appended.into_error(partial);
    assert_eq!(error.code(), api::ErrorCode::OutcomeUnknown, "{error}");
    let whole = mixed().failure_of(0..4).expect("a failure");
    assert!(!mixed().into_error(whole).code().definite());
}

//! A delete committed through the metadata is done, and answered so: when
//! removing its storage fails after the commit (Redis away), the answer is
//! still success, never a `503` that says it did not happen (the chaos
//! harness's `linearizable-metadata` caught that), and the storage is removed
//! once Redis is back: by upkeep's retry, or first thing by a create of the
//! same name, which therefore starts empty.

use std::time::Duration;

use api::types::{CreateTopicRequest, PublishMessage, PublishRequest};
use cluster::TopicName;
use node::broker::Broker;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{MessageLog, PartitionRef, StorageError};

use testkit::redis::{RedisServer, broker_on, orders_and_billing, standalone_settings};

/// A broker on a Redis that writes every command to its AOF before
/// answering, so a kill -9 and restart lose nothing; with short timeouts.
async fn broker(redis: &RedisServer) -> (Broker, RedisSettings) {
    let settings = RedisSettings {
        connect_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(500),
        ..standalone_settings(redis.url())
    };
    (broker_on(&settings).await, settings)
}

async fn create_and_publish(broker: &Broker) {
    orders_and_billing(broker, 2, None).await;
    let request = PublishRequest {
        messages: vec![PublishMessage {
            data: api::data::Data(b"first life".to_vec().into()),
            ..Default::default()
        }],
    };
    broker
        .publisher
        .publish("orders", request, None)
        .await
        .expect("publish");
}

fn partition(index: u32) -> PartitionRef {
    PartitionRef {
        topic: TopicName::new("orders").expect("valid name"),
        partition: index,
    }
}

#[test_log::test(tokio::test)]
async fn deletes_committed_while_redis_is_down_succeed_and_their_storage_goes_later() {
    let mut redis = RedisServer::standalone(&["--appendonly", "yes", "--appendfsync", "always"]);
    let (broker, settings) = broker(&redis).await;
    create_and_publish(&broker).await;

    tracing::info!("act: Redis dies; the subscription, then the topic, are deleted");
    redis.kill();
    let subscription = broker.catalog.delete_subscription("billing").await;
    let topic = broker.catalog.delete_topic("orders").await;

    tracing::info!("assert: both answered success, both are gone, their storage waits");
    assert!(subscription.is_ok(), "{subscription:?}");
    assert!(topic.is_ok(), "{topic:?}");
    let missing = broker.catalog.get_topic("orders").await;
    assert!(
        matches!(&missing, Err(e) if e.is_not_found()),
        "{missing:?}"
    );
    assert_eq!(broker.catalog.leftovers().len(), 2);

    tracing::info!("act: Redis is back with the keys; upkeep runs once");
    redis.restart();
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    assert!(storage.offsets(&partition(1)).await.is_ok(), "keys kept");
    broker.upkeep.maintain().await;

    tracing::info!("assert: the topic's storage is removed");
    assert!(broker.catalog.leftovers().is_empty());
    for index in 0..2 {
        let offsets = storage.offsets(&partition(index)).await;
        assert!(
            matches!(offsets, Err(StorageError::NotFound { .. })),
            "partition {index} is still stored: {offsets:?}"
        );
    }
}

#[test_log::test(tokio::test)]
async fn a_name_created_again_after_such_a_delete_starts_empty() {
    let mut redis = RedisServer::standalone(&["--appendonly", "yes", "--appendfsync", "always"]);
    let (broker, _) = broker(&redis).await;
    create_and_publish(&broker).await;
    redis.kill();
    broker.catalog.delete_topic("orders").await.expect("delete");
    redis.restart();

    tracing::info!("act: the topic is created again before any upkeep ran");
    // The first call on each Redis connection after the restart may find it
    // broken (503, retryable), as a client would: retried.
    let topic = CreateTopicRequest {
        partitions: Some(2),
        ..Default::default()
    };
    testkit::wait_for(
        "the create to go through",
        Duration::from_secs(5),
        || async {
            match broker.catalog.create_topic("orders", topic.clone()).await {
                Ok(created) => Some(created),
                Err(node::broker::BrokerError::Storage(
                    StorageError::Unavailable { .. } | StorageError::OutcomeUnknown { .. },
                )) => None,
                Err(error) => panic!("create again: {error:?}"),
            }
        },
    )
    .await
    .expect("create again");

    tracing::info!("assert: it holds nothing of the deleted topic's messages");
    let stats = broker.catalog.get_topic("orders").await.expect("get");
    let published = stats.stats.map(|s| s.messages_published);
    assert_eq!(published, Some(0));
    assert!(broker.catalog.leftovers().is_empty());
}

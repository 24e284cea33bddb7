//! The dead-letter outbox on a real process: a dead letter whose copy could
//! not be stored (its dead-letter topic was missing) is still copied, once,
//! after the node that dead-lettered it was killed with `kill -9`.

use std::time::Duration;

use api::types::{
    CreateSubscriptionRequest, DeadLetterPolicySpec, NackRequest, PullRequest, ReceivedMessage,
    StartPosition,
};
use cluster::{SubscriptionName, TopicName};
use node::storage::redis::RedisStorage;
use node::storage::{MessageLog, PartitionRef, SubscriptionState};
use testkit::client::{publish, subscription, text, topic};
use testkit::server_process::DataDir;
use testkit::wait_for;

use crate::process::start_on_redis;

/// Pulls one message of `subscription`, waiting for it.
async fn pull_one(api: &api::Client, subscription: &str) -> Option<ReceivedMessage> {
    let request = PullRequest {
        max_messages: Some(1),
        wait_seconds: Some(1),
        ..Default::default()
    };
    let pulled = api.pull(subscription, &request).await.ok()?;
    pulled.received_messages.into_iter().next()
}

#[test_log::test]
fn a_dead_letter_copy_pending_when_its_node_is_killed_is_stored_once_after_the_restart() {
    let redis = testkit::redis::RedisServer::standalone(&["--appendonly", "yes"]);
    let prefix = testkit::redis::fresh_prefix();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let data_dir = DataDir::new("dead-letter-outbox");

    tracing::info!("arrange: a subscription whose dead-letter topic is gone");
    let (mut first, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    runtime.block_on(async {
        api.create_topic("orders", &topic(1)).await.expect("topic");
        api.create_topic("orders-dlq", &topic(1))
            .await
            .expect("dlq");
        let billing = CreateSubscriptionRequest {
            dead_letter_policy: Some(DeadLetterPolicySpec {
                dead_letter_topic: "orders-dlq".to_owned(),
                max_delivery_attempts: Some(5),
            }),
            ..subscription("orders")
        };
        api.create_subscription("billing", &billing)
            .await
            .expect("subscription");
        api.delete_topic("orders-dlq").await.expect("delete dlq");
        publish(&api, "orders", vec![text("poison")])
            .await
            .expect("publish");

        tracing::info!("act: five failed deliveries dead-letter it; its copy cannot be stored");
        for attempt in 1..=5 {
            let got = wait_for("a delivery", Duration::from_secs(30), || {
                pull_one(&api, "billing")
            })
            .await
            .expect("delivered");
            assert_eq!(got.delivery_attempt, attempt);
            let nack = NackRequest {
                ack_ids: vec![got.ack_id],
                delay_seconds: Some(0),
                reason: None,
            };
            api.nack_with("billing", &nack).await.expect("nack");
        }
        let listed = api.dead_letters("billing", None).await.expect("listed");
        assert_eq!(listed.dead_letters.len(), 1);
    });
    first.child.kill().expect("kill -9");
    first.child.wait().expect("reaped");

    tracing::info!("act: restarted, and the dead-letter topic is back");
    let (_second, api) = start_on_redis(&data_dir, &redis.url(), &prefix);
    runtime.block_on(async {
        api.create_topic("orders-dlq", &topic(1))
            .await
            .expect("dlq");
        let reader = CreateSubscriptionRequest {
            start_position: Some(StartPosition::Earliest),
            ..subscription("orders-dlq")
        };
        api.create_subscription("dlq-reader", &reader)
            .await
            .expect("reader");

        tracing::info!("assert: the copy arrives with its lineage, and leaves the outbox");
        let copy = wait_for("the copy", Duration::from_secs(30), || {
            pull_one(&api, "dlq-reader")
        })
        .await
        .expect("the dead letter's copy");
        assert_eq!(copy.message.data.0.as_ref(), b"poison");
        assert_eq!(copy.message.attributes["pubsubgo.sourceOffset"], "0");
        assert_eq!(copy.message.attributes["pubsubgo.deliveryAttempts"], "5");

        let storage = RedisStorage::connect(&node::storage::redis::RedisSettings {
            key_prefix: prefix.clone(),
            ..node::storage::redis::RedisSettings::standalone(redis.url())
        })
        .await
        .expect("redis");
        let billing = SubscriptionName::new("billing").expect("name");
        let orders = PartitionRef {
            topic: TopicName::new("orders").expect("name"),
            partition: 0,
        };
        wait_for("an empty outbox", Duration::from_secs(30), || async {
            let pending = storage.dead_letter_outbox(&billing, &orders, 10).await;
            pending.ok()?.is_empty().then_some(())
        })
        .await
        .expect("the outbox drained");
        let dlq = PartitionRef {
            topic: TopicName::new("orders-dlq").expect("name"),
            partition: 0,
        };
        let stored = storage.offsets(&dlq).await.expect("offsets");
        assert_eq!(stored.end, 1, "the copy is stored once");
    });
}

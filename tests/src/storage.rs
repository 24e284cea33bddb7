//! Builders for storage-level calls ([`node::storage`]), for tests that drive
//! a backend directly.

use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};
use node::storage::{
    DeliveryPolicy, LeaseRequest, MessageLog, NewMessage, PartitionRef, SubscriptionState,
};

/// A message carrying `data`, published at `publish_time_millis`, with
/// default priority (4) and no key, attributes, delay or expiry.
pub fn message(data: impl Into<bytes::Bytes>, publish_time_millis: u64) -> NewMessage {
    NewMessage {
        data: data.into(),
        attributes: Default::default(),
        ordering_key: None,
        priority: 4,
        publish_time_millis,
        deliver_at_millis: None,
        expire_at_millis: None,
    }
}

/// An at-least-once lease of up to `max_messages` at `now_millis`, with a
/// deadline a minute later and the default policy.
pub fn lease_request(max_messages: usize, now_millis: u64) -> LeaseRequest {
    LeaseRequest {
        max_messages,
        now_millis,
        deadline_millis: now_millis + 60_000,
        policy: DeliveryPolicy::default(),
    }
}

/// Creates topic `orders` (one partition) and subscription `billing` on it,
/// reading from the earliest message, in `storage`; answers partition 0 of
/// `orders` and `billing`.
pub async fn orders_with_billing<S>(storage: &S) -> (PartitionRef, SubscriptionName)
where
    S: MessageLog + SubscriptionState,
{
    let at = PartitionRef {
        topic: TopicName::new("orders").expect("valid name"),
        partition: 0,
    };
    let sub = SubscriptionName::new("billing").expect("valid name");
    storage
        .create_topic(&at.topic, 1)
        .await
        .expect("create topic");
    storage
        .create_subscription(&sub, &at.topic, 1, StartPosition::Earliest)
        .await
        .expect("create subscription");
    (at, sub)
}

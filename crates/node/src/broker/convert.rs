//! Between the API's wire types and the metadata model.

use api::duration::Duration;
use api::timestamp::Timestamp;
use api::types::{self, CreateSubscriptionRequest, CreateTopicRequest, RetentionSpec};
use cluster::subscription::{DEFAULT_ACK_DEADLINE_SECONDS, StartPosition};
use cluster::{
    Retention, Subscription, SubscriptionConfig, SubscriptionType, Topic, TopicConfig, TopicName,
};

use super::BrokerError;

pub(super) fn topic_config(request: CreateTopicRequest) -> TopicConfig {
    let defaults = TopicConfig::default();
    let retention = match request.retention {
        None => defaults.retention,
        Some(spec) => Retention {
            max_age_millis: spec
                .max_age
                .map(|d| d.as_millis())
                .or(defaults.retention.max_age_millis),
            max_bytes_per_partition: spec.max_bytes_per_partition,
        },
    };
    TopicConfig {
        partitions: request.partitions.unwrap_or(defaults.partitions),
        retention,
        max_message_bytes: request
            .max_message_bytes
            .unwrap_or(defaults.max_message_bytes),
        dedup_window_millis: request
            .dedup_window
            .map_or(defaults.dedup_window_millis, |d| d.as_millis()),
    }
}

pub(super) fn topic(topic: &Topic, stats: Option<types::TopicStats>) -> types::Topic {
    let config = &topic.config;
    types::Topic {
        name: topic.name.to_string(),
        partitions: config.partitions,
        retention: RetentionSpec {
            max_age: config.retention.max_age_millis.map(Duration::from_millis),
            max_bytes_per_partition: config.retention.max_bytes_per_partition,
        },
        max_message_bytes: config.max_message_bytes,
        dedup_window: Duration::from_millis(config.dedup_window_millis),
        create_time: Timestamp(topic.created_at_millis).to_string(),
        stats,
    }
}

pub(super) fn subscription_config(
    request: CreateSubscriptionRequest,
) -> Result<SubscriptionConfig, BrokerError> {
    let topic =
        TopicName::new(request.topic).map_err(|e| BrokerError::invalid(format!("topic: {e}")))?;
    Ok(SubscriptionConfig {
        topic,
        kind: match request.kind.unwrap_or_default() {
            types::SubscriptionType::Shared => SubscriptionType::Shared,
            types::SubscriptionType::Partitioned => SubscriptionType::Partitioned,
        },
        ack_deadline_seconds: request
            .ack_deadline_seconds
            .unwrap_or(DEFAULT_ACK_DEADLINE_SECONDS),
        enable_message_ordering: request.enable_message_ordering.unwrap_or(false),
        start_position: match request.start_position.unwrap_or_default() {
            types::StartPosition::Latest => StartPosition::Latest,
            types::StartPosition::Earliest => StartPosition::Earliest,
        },
    })
}

pub(super) fn subscription(
    sub: &Subscription,
    stats: Option<types::SubscriptionStats>,
) -> types::Subscription {
    let config = &sub.config;
    types::Subscription {
        name: sub.name.to_string(),
        topic: config.topic.to_string(),
        kind: match config.kind {
            SubscriptionType::Shared => types::SubscriptionType::Shared,
            SubscriptionType::Partitioned => types::SubscriptionType::Partitioned,
        },
        ack_deadline_seconds: config.ack_deadline_seconds,
        enable_message_ordering: config.enable_message_ordering,
        start_position: match config.start_position {
            StartPosition::Latest => types::StartPosition::Latest,
            StartPosition::Earliest => types::StartPosition::Earliest,
        },
        create_time: Timestamp(sub.created_at_millis).to_string(),
        stats,
        group: None,
    }
}

//! Between the API's wire types and the metadata model.

use api::duration::Duration;
use api::timestamp::Timestamp;
use api::types::{
    self, AckLevel, CreateSubscriptionRequest, CreateTopicRequest, DiscardPolicy,
    PayloadCompression, RetentionSpec, message_id,
};
use cluster::push::DEFAULT_PUSH_MAX_OUTSTANDING;
use cluster::subscription::{
    DEFAULT_ACK_DEADLINE_SECONDS, DeadLetterPolicy, DeliveryMode, MAX_BACKOFF_MILLIS,
    MIN_DELIVERY_ATTEMPTS, RetryPolicy, StartPosition,
};
use cluster::{
    AckPolicy, Compression, ConsumerGroup, Discard, PushConfig, Retention, Subscription,
    SubscriptionConfig, SubscriptionType, Topic, TopicConfig, TopicName,
};

use crate::broker::error::BrokerError;
use crate::storage::{AppendOptions, StoredMessage};

/// Minimum backoff when a retry policy leaves it out (as in Google Pub/Sub).
const DEFAULT_MIN_BACKOFF_MILLIS: u64 = 10_000;

pub(super) fn ack_policy(level: AckLevel) -> AckPolicy {
    match level {
        AckLevel::Memory => AckPolicy::Memory,
        AckLevel::Leader => AckPolicy::Leader,
        AckLevel::Replicated(n) => AckPolicy::Replicated(n),
        AckLevel::Fsynced => AckPolicy::Fsynced,
    }
}

pub(super) fn ack_level(policy: AckPolicy) -> AckLevel {
    match policy {
        AckPolicy::Memory => AckLevel::Memory,
        AckPolicy::Leader => AckLevel::Leader,
        AckPolicy::Replicated(n) => AckLevel::Replicated(n),
        AckPolicy::Fsynced => AckLevel::Fsynced,
    }
}

/// What storage must do for every append to `config`'s topic; `default` is
/// the storage's own level, for topics that did not choose one.
pub(crate) fn append_options(config: &TopicConfig, default: AckLevel) -> AppendOptions {
    AppendOptions {
        ack_level: config.ack_policy.map_or(default, ack_level),
        compression: config.compression,
        idempotency: None,
        retention: config.retention,
    }
}

/// A topic without `ackLevel` gets `default_level`, fixed at creation so a
/// later change of the storage default never weakens an existing topic.
pub(super) fn topic_config(request: CreateTopicRequest, default_level: AckLevel) -> TopicConfig {
    let defaults = TopicConfig::default();
    let retention = match request.retention {
        None => defaults.retention,
        Some(spec) => Retention {
            max_age_millis: spec
                .max_age
                .map(|d| d.as_millis())
                .or(defaults.retention.max_age_millis),
            max_bytes_per_partition: spec.max_bytes_per_partition,
            max_messages_per_partition: spec.max_messages_per_partition,
            discard: match spec.discard.unwrap_or_default() {
                DiscardPolicy::Old => Discard::Old,
                DiscardPolicy::New => Discard::New,
            },
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
        ack_policy: Some(ack_policy(request.ack_level.unwrap_or(default_level))),
        compression: match request.compression.unwrap_or_default() {
            PayloadCompression::None => Compression::None,
            PayloadCompression::Snappy => Compression::Snappy,
            PayloadCompression::Lz4 => Compression::Lz4,
        },
    }
}

pub(super) fn topic(
    topic: &Topic,
    default_ack_level: AckLevel,
    stats: Option<types::TopicStats>,
) -> types::Topic {
    let config = &topic.config;
    types::Topic {
        name: topic.name.to_string(),
        partitions: config.partitions,
        retention: RetentionSpec {
            max_age: config.retention.max_age_millis.map(Duration::from_millis),
            max_bytes_per_partition: config.retention.max_bytes_per_partition,
            max_messages_per_partition: config.retention.max_messages_per_partition,
            discard: Some(match config.retention.discard {
                Discard::Old => DiscardPolicy::Old,
                Discard::New => DiscardPolicy::New,
            }),
        },
        max_message_bytes: config.max_message_bytes,
        dedup_window: Duration::from_millis(config.dedup_window_millis),
        ack_level: config.ack_policy.map_or(default_ack_level, ack_level),
        compression: match config.compression {
            Compression::None => PayloadCompression::None,
            Compression::Snappy => PayloadCompression::Snappy,
            Compression::Lz4 => PayloadCompression::Lz4,
        },
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
        retry_policy: request.retry_policy.map(|r| RetryPolicy {
            minimum_backoff_millis: r
                .minimum_backoff
                .map_or(DEFAULT_MIN_BACKOFF_MILLIS, |d| d.as_millis()),
            maximum_backoff_millis: r
                .maximum_backoff
                .map_or(MAX_BACKOFF_MILLIS, |d| d.as_millis()),
        }),
        dead_letter_policy: request
            .dead_letter_policy
            .map(|d| -> Result<DeadLetterPolicy, BrokerError> {
                Ok(DeadLetterPolicy {
                    dead_letter_topic: TopicName::new(d.dead_letter_topic).map_err(|e| {
                        BrokerError::invalid(format!("deadLetterPolicy.deadLetterTopic: {e}"))
                    })?,
                    max_delivery_attempts: d.max_delivery_attempts.unwrap_or(MIN_DELIVERY_ATTEMPTS),
                })
            })
            .transpose()?,
        delivery_mode: match request.delivery_mode.unwrap_or_default() {
            types::DeliveryMode::AtMostOnce => DeliveryMode::AtMostOnce,
            types::DeliveryMode::AtLeastOnce => DeliveryMode::AtLeastOnce,
            types::DeliveryMode::ExactlyOnce => DeliveryMode::ExactlyOnce,
        },
        push: request.push_config.map(push_config).transpose()?,
    })
}

/// The cluster checks the endpoint's shape without a URL library (it must stay
/// pure); here it must also parse as the URL the push client will call.
fn push_config(request: types::PushConfig) -> Result<PushConfig, BrokerError> {
    let push = PushConfig {
        endpoint: request.endpoint,
        max_outstanding: request
            .max_outstanding
            .unwrap_or(DEFAULT_PUSH_MAX_OUTSTANDING),
        secret: request.secret,
    };
    push.validate()?;
    reqwest::Url::parse(&push.endpoint).map_err(|e| {
        BrokerError::invalid(format!(
            "invalid pushConfig.endpoint: {e}, got {:?}",
            push.endpoint
        ))
    })?;
    Ok(push)
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
        retry_policy: config.retry_policy.map(|r| types::RetryPolicySpec {
            minimum_backoff: Some(Duration::from_millis(r.minimum_backoff_millis)),
            maximum_backoff: Some(Duration::from_millis(r.maximum_backoff_millis)),
        }),
        dead_letter_policy: config.dead_letter_policy.as_ref().map(|d| {
            types::DeadLetterPolicySpec {
                dead_letter_topic: d.dead_letter_topic.to_string(),
                max_delivery_attempts: Some(d.max_delivery_attempts),
            }
        }),
        delivery_mode: match config.delivery_mode {
            DeliveryMode::AtMostOnce => types::DeliveryMode::AtMostOnce,
            DeliveryMode::AtLeastOnce => types::DeliveryMode::AtLeastOnce,
            DeliveryMode::ExactlyOnce => types::DeliveryMode::ExactlyOnce,
        },
        create_time: Timestamp(sub.created_at_millis).to_string(),
        stats,
        push_config: config.push.as_ref().map(|push| types::PushConfigInfo {
            endpoint: push.endpoint.clone(),
            max_outstanding: push.max_outstanding,
            secret_set: push.secret.is_some(),
        }),
        group: None,
    }
}

/// A stored message as the API shows it.
pub(crate) fn api_message(partition: u32, stored: &StoredMessage) -> types::Message {
    let message = &stored.message;
    types::Message {
        message_id: message_id(partition, stored.offset),
        data: api::data::Data(message.data.clone()),
        attributes: message.attributes.clone(),
        ordering_key: message.ordering_key.clone(),
        priority: message.priority,
        publish_time: Timestamp(message.publish_time_millis).to_string(),
        deliver_time: message
            .deliver_at_millis
            .map(|t| Timestamp(t.get()).to_string()),
        expire_time: message
            .expire_at_millis
            .map(|t| Timestamp(t.get()).to_string()),
        partition,
        offset: stored.offset,
    }
}

/// Parses an optional RFC 3339 field.
pub(crate) fn parse_time(field: &str, text: Option<&str>) -> Result<Option<u64>, BrokerError> {
    text.map(|t| {
        t.parse::<Timestamp>()
            .map(|ts| ts.0)
            .map_err(|e| BrokerError::invalid(format!("{field}: {e}")))
    })
    .transpose()
}

/// A partitioned subscription's group as `GET /v1/subscriptions/{sub}` shows
/// it; `None` (no member yet) is generation 0 with no members.
pub(super) fn group(group: Option<&ConsumerGroup>) -> types::ConsumerGroup {
    let Some(group) = group else {
        return types::ConsumerGroup {
            generation: 0,
            members: Vec::new(),
        };
    };
    types::ConsumerGroup {
        generation: group.generation(),
        members: group
            .members()
            .iter()
            .map(|(id, member)| types::GroupMember {
                member_id: id.to_string(),
                partitions: group.partitions_of(id),
                last_heartbeat_time: Timestamp(member.last_heartbeat_millis).to_string(),
                session_timeout_seconds: u32::try_from(member.session_timeout_millis / 1000)
                    .unwrap_or(u32::MAX),
            })
            .collect(),
    }
}

//! Google's `Subscription` ↔ the broker's subscription.
//!
//! | Google field | broker |
//! |---|---|
//! | `ack_deadline_seconds` (0 means 10) | `ackDeadlineSeconds` |
//! | `enable_message_ordering` | `enableMessageOrdering` |
//! | `retry_policy` | `retryPolicy` (unset bounds take the broker's defaults) |
//! | `dead_letter_policy` (0 attempts means 5) | `deadLetterPolicy`, topic by its id |
//! | `enable_exactly_once_delivery` | `deliveryMode: exactly-once` |
//! | `expiration_policy` without a `ttl` | never expires, as every broker subscription |
//!
//! Everything else a client can set (push, BigQuery, Cloud Storage and
//! Bigtable configs, `filter`, `retain_acked_messages`, a subscription's own
//! `message_retention_duration`, an expiration `ttl`, labels, `detached`,
//! transforms, tags) is refused with `INVALID_ARGUMENT`. A subscription made
//! over gRPC is a shared (competing consumers) subscription that starts at the
//! topic's end, like Google's.

use api::types::{
    CreateSubscriptionRequest, DeadLetterPolicySpec, DeliveryMode, RetryPolicySpec,
    Subscription as ApiSubscription,
};
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    DeadLetterPolicy, PushConfig, RetryPolicy, Subscription, subscription,
};
use tonic::Status;

use super::messages::{from_duration, to_duration};
use super::names::{Kind, ResourceName};
use super::topics::refuse_unsupported;

/// Google's default ack deadline, taken when a request says 0.
const DEFAULT_ACK_DEADLINE_SECONDS: u32 = 10;

/// The broker's create request for `sub`, whose topic is `topic` (a broker id).
pub fn create_request(
    sub: &Subscription,
    topic: String,
) -> Result<CreateSubscriptionRequest, Status> {
    let push = sub
        .push_config
        .as_ref()
        .is_some_and(|push| !push.push_endpoint.is_empty() || push.authentication_method.is_some());
    let ttl = sub
        .expiration_policy
        .as_ref()
        .is_some_and(|policy| policy.ttl.is_some());
    refuse_unsupported(
        "subscription",
        &[
            ("push_config", push),
            ("bigquery_config", sub.bigquery_config.is_some()),
            ("cloud_storage_config", sub.cloud_storage_config.is_some()),
            ("bigtable_config", sub.bigtable_config.is_some()),
            ("filter", !sub.filter.is_empty()),
            ("retain_acked_messages", sub.retain_acked_messages),
            (
                "message_retention_duration",
                sub.message_retention_duration.is_some(),
            ),
            ("expiration_policy.ttl", ttl),
            ("labels", !sub.labels.is_empty()),
            ("detached", sub.detached),
            ("message_transforms", !sub.message_transforms.is_empty()),
            ("tags", !sub.tags.is_empty()),
        ],
    )?;
    let ack_deadline = u32::try_from(sub.ack_deadline_seconds).map_err(|_| {
        Status::invalid_argument(format!(
            "ack_deadline_seconds must be 0 or 10 to 600, got {}",
            sub.ack_deadline_seconds
        ))
    })?;
    Ok(CreateSubscriptionRequest {
        topic,
        ack_deadline_seconds: Some(if ack_deadline == 0 {
            DEFAULT_ACK_DEADLINE_SECONDS
        } else {
            ack_deadline
        }),
        enable_message_ordering: Some(sub.enable_message_ordering),
        retry_policy: sub.retry_policy.as_ref().map(retry_policy).transpose()?,
        dead_letter_policy: sub
            .dead_letter_policy
            .as_ref()
            .map(dead_letter_policy)
            .transpose()?,
        delivery_mode: Some(if sub.enable_exactly_once_delivery {
            DeliveryMode::ExactlyOnce
        } else {
            DeliveryMode::AtLeastOnce
        }),
        ..CreateSubscriptionRequest::default()
    })
}

fn retry_policy(policy: &RetryPolicy) -> Result<RetryPolicySpec, Status> {
    Ok(RetryPolicySpec {
        minimum_backoff: policy
            .minimum_backoff
            .as_ref()
            .map(|d| to_duration("retry_policy.minimum_backoff", d))
            .transpose()?,
        maximum_backoff: policy
            .maximum_backoff
            .as_ref()
            .map(|d| to_duration("retry_policy.maximum_backoff", d))
            .transpose()?,
    })
}

fn dead_letter_policy(policy: &DeadLetterPolicy) -> Result<DeadLetterPolicySpec, Status> {
    let topic = ResourceName::parse(
        Kind::Topics,
        "dead_letter_policy.dead_letter_topic",
        &policy.dead_letter_topic,
    )?;
    let attempts = u32::try_from(policy.max_delivery_attempts).map_err(|_| {
        Status::invalid_argument(format!(
            "dead_letter_policy.max_delivery_attempts must be 0 or 5 to 100, got {}",
            policy.max_delivery_attempts
        ))
    })?;
    Ok(DeadLetterPolicySpec {
        dead_letter_topic: topic.id,
        // 0 is Google's "unset": the broker's default (5) applies.
        max_delivery_attempts: Some(attempts).filter(|n| *n != 0),
    })
}

/// `sub` as Google's clients read it, in `project`.
pub fn to_google(project: &str, sub: &ApiSubscription) -> Subscription {
    Subscription {
        name: ResourceName::path(project, Kind::Subscriptions, &sub.name),
        topic: ResourceName::path(project, Kind::Topics, &sub.topic),
        push_config: sub.push_config.as_ref().map(|push| PushConfig {
            push_endpoint: push.endpoint.clone(),
            ..PushConfig::default()
        }),
        ack_deadline_seconds: i32::try_from(sub.ack_deadline_seconds).unwrap_or(i32::MAX),
        enable_message_ordering: sub.enable_message_ordering,
        retry_policy: sub.retry_policy.as_ref().map(|policy| RetryPolicy {
            minimum_backoff: policy.minimum_backoff.as_ref().map(from_duration),
            maximum_backoff: policy.maximum_backoff.as_ref().map(from_duration),
        }),
        dead_letter_policy: sub
            .dead_letter_policy
            .as_ref()
            .map(|policy| DeadLetterPolicy {
                dead_letter_topic: ResourceName::path(
                    project,
                    Kind::Topics,
                    &policy.dead_letter_topic,
                ),
                max_delivery_attempts: policy
                    .max_delivery_attempts
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(0),
            }),
        enable_exactly_once_delivery: sub.delivery_mode == DeliveryMode::ExactlyOnce,
        state: subscription::State::Active as i32,
        ..Subscription::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_fields_are_refused_by_name() {
        let sub = Subscription {
            filter: "attributes.kind = \"a\"".to_owned(),
            ..Subscription::default()
        };
        let error = create_request(&sub, "t".to_owned()).expect_err("filter is refused");
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        assert!(error.message().contains("filter"), "{}", error.message());
    }

    #[test]
    fn zero_means_google_default() {
        let request = create_request(&Subscription::default(), "t".to_owned()).expect("valid");
        assert_eq!(request.ack_deadline_seconds, Some(10));
        assert_eq!(request.delivery_mode, Some(DeliveryMode::AtLeastOnce));
    }
}

//! Google's `Topic` ↔ the broker's topic.
//!
//! `message_retention_duration` is the broker's `retention.maxAge`. Every
//! other field a client can set (labels, KMS key, schema settings, storage
//! policy, ingestion, transforms, tags) has no broker counterpart and is
//! refused with `INVALID_ARGUMENT`; output-only fields are ignored.

use api::types::{CreateTopicRequest, RetentionSpec, Topic as ApiTopic};
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{Topic, topic};
use tonic::Status;

use super::messages::{from_duration, to_duration};
use super::names::{Kind, ResourceName};

/// The broker's create request for `topic`.
pub fn create_request(topic: &Topic) -> Result<CreateTopicRequest, Status> {
    let unsupported = [
        ("labels", !topic.labels.is_empty()),
        (
            "message_storage_policy",
            topic.message_storage_policy.is_some(),
        ),
        ("kms_key_name", !topic.kms_key_name.is_empty()),
        ("schema_settings", topic.schema_settings.is_some()),
        (
            "ingestion_data_source_settings",
            topic.ingestion_data_source_settings.is_some(),
        ),
        ("message_transforms", !topic.message_transforms.is_empty()),
        ("tags", !topic.tags.is_empty()),
    ];
    refuse_unsupported("topic", &unsupported)?;
    let retention = match &topic.message_retention_duration {
        Some(age) => Some(RetentionSpec {
            max_age: Some(to_duration("message_retention_duration", age)?),
            ..RetentionSpec::default()
        }),
        None => None,
    };
    Ok(CreateTopicRequest {
        retention,
        ..CreateTopicRequest::default()
    })
}

/// `topic` as Google's clients read it, in `project`.
pub fn to_google(project: &str, topic: &ApiTopic) -> Topic {
    Topic {
        name: ResourceName::path(project, Kind::Topics, &topic.name),
        message_retention_duration: topic.retention.max_age.as_ref().map(from_duration),
        state: topic::State::Active as i32,
        ..Topic::default()
    }
}

/// `INVALID_ARGUMENT` naming the first field of `what` that is set but has no
/// broker counterpart.
pub fn refuse_unsupported(what: &str, fields: &[(&str, bool)]) -> Result<(), Status> {
    match fields.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(Status::invalid_argument(format!(
            "{what}.{field} is not supported by PubSubGo (see docs/google-clients.md)"
        ))),
        None => Ok(()),
    }
}

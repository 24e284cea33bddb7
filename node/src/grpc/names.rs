//! Google resource names ↔ broker names.
//!
//! `projects/{project}/topics/{id}` is broker topic `{id}` and
//! `projects/{project}/subscriptions/{id}` is broker subscription `{id}`: one
//! flat namespace, whatever the project, so a topic created over gRPC is the
//! same topic over REST and the CLI. Replies echo the project the caller named
//! (see `docs/google-clients.md`). The id itself is checked by the broker's
//! name rules (`cluster::names`), which refuse the `~`, `+` and `%` Google
//! allows.

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    AcknowledgeRequest, DeleteSubscriptionRequest, DeleteTopicRequest, GetSubscriptionRequest,
    GetTopicRequest, ListTopicSubscriptionsRequest, ModifyAckDeadlineRequest, PublishRequest,
    PullRequest, SeekRequest, Subscription, Topic,
};
use tonic::Status;

/// The kind of resource a name names: its path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Topics,
    Subscriptions,
}

impl Kind {
    pub fn segment(self) -> &'static str {
        match self {
            Kind::Topics => "topics",
            Kind::Subscriptions => "subscriptions",
        }
    }
}

/// A parsed `projects/{project}/{kind}/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceName {
    pub project: String,
    /// The broker's name of the resource.
    pub id: String,
}

impl ResourceName {
    /// Parses `name` as a resource of `kind`; `field` names the request field
    /// in the error.
    pub fn parse(kind: Kind, field: &str, name: &str) -> Result<Self, Status> {
        let mut parts = name.split('/');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some("projects"), Some(project), Some(segment), Some(id), None)
                if !project.is_empty() && segment == kind.segment() && !id.is_empty() =>
            {
                Ok(Self {
                    project: project.to_owned(),
                    id: id.to_owned(),
                })
            }
            _ => Err(Status::invalid_argument(format!(
                "{field} must be projects/{{project}}/{}/{{id}}, got {name:?}",
                kind.segment()
            ))),
        }
    }

    /// The Google name of broker resource `id` of `kind` in `project`.
    pub fn path(project: &str, kind: Kind, id: &str) -> String {
        format!("projects/{project}/{}/{id}", kind.segment())
    }
}

/// Parses `projects/{project}` (the `project` field of list requests).
pub fn project(field: &str, name: &str) -> Result<String, Status> {
    match name.strip_prefix("projects/") {
        Some(project) if !project.is_empty() && !project.contains('/') => Ok(project.to_owned()),
        _ => Err(Status::invalid_argument(format!(
            "{field} must be projects/{{project}}, got {name:?}"
        ))),
    }
}

/// A request (or resource) naming one resource of [`Named::KIND`] in its
/// field [`Named::FIELD`].
pub trait Named {
    const KIND: Kind;
    const FIELD: &'static str;
    fn name(&self) -> &str;
}

macro_rules! named {
    ($kind:expr, $field:ident: $($request:ty),*) => {
        $(impl Named for $request {
            const KIND: Kind = $kind;
            const FIELD: &'static str = stringify!($field);
            fn name(&self) -> &str {
                &self.$field
            }
        })*
    };
}

named!(Kind::Topics, name: Topic);
named!(
    Kind::Topics,
    topic: GetTopicRequest,
    DeleteTopicRequest,
    ListTopicSubscriptionsRequest,
    PublishRequest
);
named!(Kind::Subscriptions, name: Subscription);
named!(
    Kind::Subscriptions,
    subscription: GetSubscriptionRequest,
    DeleteSubscriptionRequest,
    PullRequest,
    AcknowledgeRequest,
    ModifyAckDeadlineRequest,
    SeekRequest
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_broker_ids_and_back() {
        let name =
            ResourceName::parse(Kind::Topics, "name", "projects/p-1/topics/orders").expect("valid");
        assert_eq!(name.project, "p-1");
        assert_eq!(name.id, "orders");
        assert_eq!(
            ResourceName::path("p-1", Kind::Topics, "orders"),
            "projects/p-1/topics/orders"
        );
        assert_eq!(project("project", "projects/p-1").expect("valid"), "p-1");
    }

    #[test]
    fn malformed_names_are_invalid_arguments() {
        for bad in [
            "orders",
            "projects/p/subscriptions/orders",
            "projects//topics/orders",
            "projects/p/topics/",
            "projects/p/topics/a/b",
        ] {
            let error = ResourceName::parse(Kind::Topics, "name", bad).expect_err(bad);
            assert_eq!(error.code(), tonic::Code::InvalidArgument, "{bad}");
        }
        for bad in ["p", "projects/", "projects/p/topics"] {
            assert!(project("project", bad).is_err(), "{bad}");
        }
    }
}

//! [`Requirement`]: what a request needs from the policy, read off its method
//! and path in one place (DESIGN §10's action list):
//!
//! | request | needs |
//! |---|---|
//! | `/healthz`, `/readyz`, `/openapi.json` | nothing (probes and tooling) |
//! | `GET /v1/topics`, `GET /v1/subscriptions` | any rule |
//! | `GET` a topic or subscription | any action on it |
//! | `PUT`, `DELETE` a topic or subscription | `manage` on it |
//! | `:publish`, `:publishStream` | `publish` on the topic |
//! | `:pull`, `:stream`, `:acknowledge`, `:nack`, `:modifyAckDeadline`, `:seek`, `:deadLetters`, `:join`, `:heartbeat`, `:leave` | `consume` on the subscription |
//! | `:redrive`, `:resumeOrderingKey` | `manage` on the subscription |
//! | `/v1/cluster…` | `admin` on `cluster` |
//!
//! Anything else (an unknown path or verb) needs any rule; the router then
//! answers 404. Names are percent-decoded as the router decodes them, so the
//! policy sees the name the handler acts on.

use api::paths::split_verb;
use api::verbs::{SubscriptionVerb, TopicVerb};
use axum::http::Method;

use super::policy::Action;

/// What the policy must grant for a request to pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Served to anyone.
    Public,
    /// Any authenticated principal with at least one rule.
    AnyRule,
    /// `action` (any action when `None`) on `resource`.
    Grant {
        action: Option<Action>,
        resource: String,
    },
}

impl Requirement {
    /// The requirement of `method` on `path`.
    pub fn of(method: &Method, path: &str) -> Self {
        if [api::paths::HEALTHZ, api::paths::READYZ, api::paths::OPENAPI].contains(&path) {
            return Requirement::Public;
        }
        if path == api::paths::CLUSTER
            || path.starts_with(api::paths::CLUSTER_REBALANCE)
            || path.starts_with("/v1/cluster/")
        {
            return grant(Some(Action::Admin), "cluster".to_owned());
        }
        if let Some(segment) = path.strip_prefix("/v1/topics/") {
            return resource(method, "topics", segment, |verb| {
                verb.parse::<TopicVerb>().ok().map(|_| Action::Publish)
            });
        }
        if let Some(segment) = path.strip_prefix("/v1/subscriptions/") {
            return resource(method, "subscriptions", segment, |verb| {
                Some(match verb.parse::<SubscriptionVerb>().ok()? {
                    SubscriptionVerb::Redrive | SubscriptionVerb::ResumeOrderingKey => {
                        Action::Manage
                    }
                    _ => Action::Consume,
                })
            });
        }
        Requirement::AnyRule
    }
}

fn grant(action: Option<Action>, resource: String) -> Requirement {
    Requirement::Grant { action, resource }
}

fn resource(
    method: &Method,
    kind: &str,
    segment: &str,
    verb_action: impl Fn(&str) -> Option<Action>,
) -> Requirement {
    let Some(segment) = percent_decode(segment) else {
        return Requirement::AnyRule;
    };
    let (name, verb) = split_verb(&segment);
    let resource = format!("{kind}/{name}");
    match verb {
        Some(verb) => match verb_action(verb) {
            Some(action) => grant(Some(action), resource),
            None => Requirement::AnyRule,
        },
        None if method == Method::GET || method == Method::HEAD => grant(None, resource),
        None => grant(Some(Action::Manage), resource),
    }
}

/// `%XX` escapes decoded; `None` when they are malformed or not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(method: Method, path: &str) -> Requirement {
        Requirement::of(&method, path)
    }

    #[test]
    fn each_route_needs_its_action_on_its_resource() {
        let need = |action, resource: &str| grant(action, resource.to_owned());
        assert_eq!(of(Method::GET, "/healthz"), Requirement::Public);
        assert_eq!(of(Method::GET, "/v1/topics"), Requirement::AnyRule);
        assert_eq!(
            of(Method::POST, "/v1/topics/orders-1:publish"),
            need(Some(Action::Publish), "topics/orders-1")
        );
        assert_eq!(
            of(Method::GET, "/v1/topics/orders-1:publishStream"),
            need(Some(Action::Publish), "topics/orders-1")
        );
        assert_eq!(
            of(Method::PUT, "/v1/topics/orders-1"),
            need(Some(Action::Manage), "topics/orders-1")
        );
        assert_eq!(
            of(Method::GET, "/v1/topics/orders-1"),
            need(None, "topics/orders-1")
        );
        assert_eq!(
            of(Method::GET, "/v1/subscriptions/s1:stream"),
            need(Some(Action::Consume), "subscriptions/s1")
        );
        assert_eq!(
            of(Method::POST, "/v1/subscriptions/s1:redrive"),
            need(Some(Action::Manage), "subscriptions/s1")
        );
        assert_eq!(
            of(Method::POST, "/v1/cluster:rebalance"),
            need(Some(Action::Admin), "cluster")
        );
        assert_eq!(
            of(Method::DELETE, "/v1/cluster/nodes/3"),
            need(Some(Action::Admin), "cluster")
        );
        assert_eq!(
            of(Method::GET, "/v1/cluster"),
            need(Some(Action::Admin), "cluster")
        );
    }

    #[test]
    fn names_are_checked_as_the_router_decodes_them() {
        assert_eq!(
            of(Method::POST, "/v1/topics/payments%2D1:publish"),
            grant(Some(Action::Publish), "topics/payments-1".to_owned())
        );
        assert_eq!(
            of(Method::POST, "/v1/topics/bad%zz:publish"),
            Requirement::AnyRule
        );
    }
}

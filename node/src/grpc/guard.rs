//! [`Guard`]: whether the caller may do what an RPC does, by the policy the
//! REST API uses (`crate::security::auth`), once the message names the
//! resource. Each RPC states its action:
//!
//! | RPC | needs |
//! |---|---|
//! | `ListTopics`, `ListSubscriptions` | any rule |
//! | `GetTopic`, `ListTopicSubscriptions`, `GetSubscription` | any action on the resource |
//! | `CreateTopic`, `DeleteTopic`, `CreateSubscription`, `DeleteSubscription` | `manage` on it |
//! | `Publish` | `publish` on the topic |
//! | `Pull`, `StreamingPull`, `Acknowledge`, `ModifyAckDeadline`, `Seek` | `consume` on the subscription |
//!
//! A denial is `PERMISSION_DENIED` and an audit event, as over REST.

use std::sync::Arc;

use tonic::{Request, Status};

use super::names::{Kind, Named, ResourceName};
use crate::http::auth::Principal;
use crate::security::auth::{Action, Gatekeeper, Requirement};

/// Checks RPCs against the policy; lets everything through when
/// authentication is off.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    gate: Option<Arc<Gatekeeper>>,
}

impl Guard {
    pub fn new(gate: Option<Arc<Gatekeeper>>) -> Self {
        Self { gate }
    }

    /// The resource `request` names, once the caller may do `action` on it
    /// (any action when `None`).
    pub fn named<T: Named>(
        &self,
        request: &Request<T>,
        action: Option<Action>,
    ) -> Result<ResourceName, Status> {
        let name = request.get_ref().name();
        self.resource(request, T::KIND, T::FIELD, name, action)
    }

    /// Parses `name` (the request's `field`) as a resource of `kind` and
    /// checks that the caller may do `action` on it (any action when `None`).
    pub fn resource<T>(
        &self,
        request: &Request<T>,
        kind: Kind,
        field: &str,
        name: &str,
        action: Option<Action>,
    ) -> Result<ResourceName, Status> {
        self.resource_for(caller(request), kind, field, name, action)
    }

    /// [`Guard::resource`] for `principal`, the caller of a request already
    /// taken apart (a stream's, whose first message names the resource).
    pub fn resource_for(
        &self,
        principal: Option<&Principal>,
        kind: Kind,
        field: &str,
        name: &str,
        action: Option<Action>,
    ) -> Result<ResourceName, Status> {
        let parsed = ResourceName::parse(kind, field, name)?;
        let resource = format!("{}/{}", kind.segment(), parsed.id);
        self.check(principal, &Requirement::Grant { action, resource })?;
        Ok(parsed)
    }

    /// Checks that the caller has some rule (lists need one).
    pub fn any_rule<T>(&self, request: &Request<T>) -> Result<(), Status> {
        self.check(caller(request), &Requirement::AnyRule)
    }

    fn check(
        &self,
        principal: Option<&Principal>,
        requirement: &Requirement,
    ) -> Result<(), Status> {
        let Some(gate) = &self.gate else {
            return Ok(());
        };
        // The front door (`access`) attached it; without it the request
        // did not come through the door.
        let Some(Principal(principal)) = principal else {
            return Err(Status::unauthenticated("credentials are required"));
        };
        if gate.authorize(principal, requirement) {
            return Ok(());
        }
        let (action, resource) = match requirement {
            Requirement::Grant { action, resource } => {
                (action.map_or("read", Action::as_str), resource.as_str())
            }
            _ => ("read", "*"),
        };
        tracing::info!(target: "audit", principal, action, resource, outcome = "denied", "audit");
        Err(Status::permission_denied(format!(
            "{principal:?} may not {action} {resource}"
        )))
    }
}

/// The principal the front door attached to `request`, if any.
pub fn caller<T>(request: &Request<T>) -> Option<&Principal> {
    request.extensions().get::<Principal>()
}

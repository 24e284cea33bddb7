//! The authentication and authorization middleware: with authentication on,
//! every request but the public ones ([`Requirement::Public`]) needs
//! credentials of a known principal (else `401 UNAUTHENTICATED`) whose rules
//! allow it (else `403 PERMISSION_DENIED`), checked before any handler runs;
//! a WebSocket stream is checked at its upgrade request.
//!
//! Audit: one `audit` event (target `audit`) for every denial and every
//! admin action, with principal, action, resource and outcome; credentials
//! are never logged.

use std::sync::Arc;

use api::ErrorCode;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::ApiError;
use crate::security::auth::{Action, Gatekeeper, Requirement};

/// The principal a request was authenticated as, for the handlers and layers
/// after this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub String);

/// Checks the request against `gate` (installed only with authentication on).
pub async fn check(
    State(gate): State<Arc<Gatekeeper>>,
    mut request: Request,
    next: Next,
) -> Response {
    let requirement = Requirement::of(request.method(), request.uri().path());
    if requirement == Requirement::Public {
        return next.run(request).await;
    }
    let (action, resource) = match &requirement {
        Requirement::Grant { action, resource } => {
            (action.map_or("read", Action::as_str), resource.as_str())
        }
        _ => ("read", "*"),
    };
    let principal = match gate.authenticate(request.headers()) {
        Ok(principal) => principal,
        Err(reason) => {
            audit("-", action, resource, "unauthenticated");
            return ApiError::new(ErrorCode::Unauthenticated, reason).into_response();
        }
    };
    if !gate.authorize(&principal, &requirement) {
        audit(&principal, action, resource, "denied");
        return ApiError::new(
            ErrorCode::PermissionDenied,
            format!("{principal:?} may not {action} {resource}"),
        )
        .into_response();
    }
    if action == Action::Admin.as_str() {
        audit(&principal, action, resource, "allowed");
    }
    request.extensions_mut().insert(Principal(principal));
    next.run(request).await
}

fn audit(principal: &str, action: &str, resource: &str, outcome: &str) {
    tracing::info!(target: "audit", principal, action, resource, outcome, "audit");
}

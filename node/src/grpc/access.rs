//! The gRPC port's front door, before any RPC runs, with the client port's
//! settings (`crate::security`): the rate limit per client address, then
//! authentication by the `authorization: Bearer <API key or JWT>` metadata
//! (or `x-api-key`), then the rate limit per principal and, for a
//! StreamingPull, a slot of the principal's stream cap. Refusals are gRPC
//! statuses: `UNAUTHENTICATED`, or `RESOURCE_EXHAUSTED` with a `RetryInfo`
//! detail (REST's `Retry-After`).
//!
//! Authorization needs the resource, which travels inside the request
//! message, so it happens in each RPC once the message is decoded (see
//! [`super::guard`]); here the principal is attached to the request for it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::http::auth::Principal;
use crate::http::rate_limit::ClientAddr;
use crate::security::auth::Gatekeeper;
use crate::security::rate_limits::RateLimits;

/// The path suffix of the one streaming RPC, whose stream takes a slot.
const STREAMING_PULL: &str = "/StreamingPull";

/// What the front door checks; each part is off when `None`.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub gate: Option<Arc<Gatekeeper>>,
    pub limits: Option<Arc<RateLimits>>,
}

/// Checks a request as the module doc says.
pub async fn check(State(access): State<Access>, mut request: Request, next: Next) -> Response {
    if let Some(limits) = &access.limits {
        let address = request
            .extensions()
            .get::<ConnectInfo<ClientAddr>>()
            .map(|info| info.0.0.ip());
        if let Some(Err(wait)) = address.map(|a| limits.check_address(a)) {
            return exhausted(wait, "this client address");
        }
    }
    let Some(gate) = &access.gate else {
        return next.run(request).await;
    };
    let principal = match gate.authenticate(request.headers()) {
        Ok(principal) => principal,
        Err(reason) => {
            tracing::info!(target: "audit", principal = "-", action = "call",
                resource = request.uri().path(), outcome = "unauthenticated", "audit");
            return Status::unauthenticated(reason).into_http();
        }
    };
    if let Some(limits) = &access.limits {
        if let Err(wait) = limits.check_principal(&principal) {
            return exhausted(wait, &format!("principal {principal:?}"));
        }
        if request.uri().path().ends_with(STREAMING_PULL) {
            match limits.open_stream(&principal) {
                Ok(Some(slot)) => {
                    request.extensions_mut().insert(slot);
                }
                Ok(None) => {}
                Err(cap) => {
                    return exhausted(
                        Duration::from_secs(1),
                        &format!("principal {principal:?}, at its cap of {cap} open streams,"),
                    );
                }
            }
        }
    }
    request.extensions_mut().insert(Principal(principal));
    next.run(request).await
}

/// `RESOURCE_EXHAUSTED` telling the client when to retry.
fn exhausted(wait: Duration, whom: &str) -> Response {
    let wait = wait.max(Duration::from_secs(1));
    Status::with_error_details(
        Code::ResourceExhausted,
        format!(
            "too many requests from {whom}; retry after {} s",
            wait.as_secs_f64().ceil()
        ),
        ErrorDetails::with_retry_info(Some(wait)),
    )
    .into_http()
}

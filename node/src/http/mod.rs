//! The client-facing HTTP and WebSocket API (DESIGN §7).
//!
//! - [`auth`]: with authentication on, `401`/`403` before any handler, and
//!   the audit events.
//! - [`rate_limit`]: `429` per client address and per principal, answered
//!   after the body is read ([`unread_body`]) so the connection stays open.
//! - [`problem`]: the one mapping from errors to `application/problem+json`
//!   responses and WebSocket error frames, and the one count of them.
//! - [`body`]: JSON request bodies, optionally compressed (snappy, lz4);
//!   [`json_shape`]: read as the OpenAPI document describes them.
//! - [`topics`], [`subscriptions`]: the resource routes and their `:verb`s.
//! - [`stream`]: the WebSocket delivery stream; [`publish_stream`]: the WebSocket publish stream;
//!   [`write_deadline`]: how both close a client that stops reading.
//! - [`cluster`]: `/v1/cluster` status, `:rebalance`, and removing a node.
//! - [`health`]: `/healthz`, `/readyz`, `/openapi.json`.
//! - [`console`]: the web console's embedded assets under `/ui` (not part of the API).
//! - [`methods`]: `405` with the `Allow` the OpenAPI document gives the path.
//! - [`request_memory`]: request bodies counted in the node's memory budget.
//! - [`access`]: each request's span (continuing the caller's trace), access
//!   log line and metrics.
//!
//! axum cannot route `/{name}:verb` (one parameter per segment), so each
//! resource has one route template (`api::paths::TOPIC_ROUTE`,
//! `api::paths::SUBSCRIPTION_ROUTE`) and `resource_verb` reads the verb off in
//! one place, as one of `api::verbs`.

pub mod access;
pub mod auth;
pub mod body;
pub mod cluster;
pub mod console;
pub mod health;
pub mod json_shape;
pub mod methods;
pub mod problem;
pub mod publish_stream;
pub mod rate_limit;
pub mod request_memory;
pub mod stream;
pub mod subscriptions;
pub mod topics;
pub mod unread_body;
pub mod write_deadline;

use std::sync::Arc;

use api::ErrorCode;
use api::paths::{self, split_verb};
use api::verbs::{self, Verb};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use tokio_util::task::TaskTracker;
use tower_http::trace::TraceLayer;

use self::problem::ApiError;
use crate::broker::Broker;
use crate::overload::budget::MemoryBudget;
use crate::security::auth::Gatekeeper;
use crate::security::rate_limits::RateLimits;

/// What every handler can reach: each calls the broker part it needs. The
/// router holds it behind one `Arc`: every request clones the state of the
/// route it reaches, once per layer.
#[derive(Debug, Clone)]
pub struct AppState {
    pub broker: Broker,
    /// WebSocket sessions, so shutdown can wait for their close frames.
    pub streams: TaskTracker,
    /// `Some` when requests must carry credentials.
    pub auth: Option<Arc<Gatekeeper>>,
    /// `Some` when requests are rate limited.
    pub limits: Option<Arc<RateLimits>>,
}

/// Every route template [`router`] serves, so the request metrics can label
/// a request with a `&'static str` ([`access`]); one missing here is still
/// labelled right, at the cost of a copy per request.
pub const ROUTES: &[&str] = &[
    paths::TOPICS,
    paths::TOPIC_ROUTE,
    paths::SUBSCRIPTIONS,
    paths::SUBSCRIPTION_ROUTE,
    paths::CLUSTER,
    paths::CLUSTER_REBALANCE,
    paths::CLUSTER_NODE_ROUTE,
    paths::HEALTHZ,
    paths::READYZ,
    paths::OPENAPI,
    console::ROOT,
    console::INDEX,
    console::ASSET_ROUTE,
];

/// The client API router. A layer whose feature is off (authentication, rate
/// limits) is not installed: every request would pay for passing through it.
pub fn router(state: AppState) -> Router {
    let metrics = state.broker.metrics.clone();
    let memory = state.broker.overload.memory.clone();
    let gate = state.auth.clone();
    let limits = state.limits.clone();
    let mut router = Router::new()
        .route(paths::TOPICS, get(topics::list))
        .route(
            paths::TOPIC_ROUTE,
            get(topics::get)
                .put(topics::create)
                .delete(topics::delete)
                .post(topics::post),
        )
        .route(paths::SUBSCRIPTIONS, get(subscriptions::list))
        .route(
            paths::SUBSCRIPTION_ROUTE,
            get(subscriptions::get)
                .put(subscriptions::create)
                .delete(subscriptions::delete)
                .post(subscriptions::post),
        )
        .route(paths::CLUSTER, get(cluster::status))
        .route(paths::CLUSTER_REBALANCE, post(cluster::rebalance))
        .route(paths::CLUSTER_NODE_ROUTE, delete(cluster::remove_node))
        .route(paths::HEALTHZ, get(health::healthz))
        .route(paths::READYZ, get(health::readyz))
        .route(paths::OPENAPI, get(health::openapi))
        .route(console::ROOT, get(console::root))
        .route(console::INDEX, get(console::index))
        .route(console::ASSET_ROUTE, get(console::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(memory, admit));
    // Outside the body accounting: an unauthenticated request holds no memory.
    // Without authentication there is no principal to limit.
    if let (Some(limits), Some(_)) = (&limits, &gate) {
        router = router.layer(middleware::from_fn_with_state(
            limits.clone(),
            rate_limit::by_principal,
        ));
    }
    if let Some(gate) = gate {
        router = router.layer(middleware::from_fn_with_state(gate, auth::check));
    }
    if let Some(limits) = limits {
        router = router.layer(middleware::from_fn_with_state(
            limits,
            rate_limit::by_address,
        ));
    }
    router
        .layer(middleware::from_fn_with_state(metrics, access::access))
        .layer(TraceLayer::new_for_http().make_span_with(access::request_span))
        .with_state(Arc::new(state))
}

/// Middleware: what every request passes before its route, in one layer
/// (each layer costs each request a clone of the service below it): its
/// body held in the memory budget until the response is ready, then the
/// `405` for a documented path sent with a method it does not take.
pub async fn admit(
    State(memory): State<Arc<MemoryBudget>>,
    request: Request,
    next: Next,
) -> Response {
    let _held = request_memory::hold(&memory, &request);
    if let Some(refusal) = methods::refusal(&request) {
        return refusal;
    }
    next.run(request).await
}

/// Reads the `{name}[:verb]` segment of a resource route as a name and, when
/// there is one, a verb of `V`. An unknown verb is `404 NOT_FOUND` (no endpoint
/// has it); a known verb the handler of `method` does not serve is
/// [`wrong_method`].
fn resource_verb<'a, V: Verb>(
    segment: &'a str,
    method: &Method,
) -> Result<(&'a str, Option<V>), ApiError> {
    let (name, Some(text)) = split_verb(segment) else {
        return Ok((segment, None));
    };
    match text.parse::<V>() {
        Ok(verb) => Ok((name, Some(verb))),
        Err(unknown) => {
            let served: Vec<String> = verbs::taking::<V>(method)
                .map(|verb| format!(":{verb}"))
                .collect();
            let detail = if served.is_empty() {
                format!("{unknown}; {method} takes no verb here")
            } else {
                format!("{unknown}; {method} takes {}", served.join(", "))
            };
            Err(ApiError::new(ErrorCode::NotFound, detail))
        }
    }
}

/// A verb the resource has, asked for with a method it does not take
/// ([`methods`] answers these first; the handlers' matches stay exhaustive).
fn wrong_method<V: Verb>(verb: V, method: &Method) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("the :{verb} verb takes {}, not {method}", verb.method()),
    )
}

/// Rejects a verb on a handler of the bare resource. A documented verb sent
/// with another method never gets here ([`methods`] answers `405`), so this is
/// a verb no endpoint has.
fn no_verb(segment: &str) -> Result<&str, ApiError> {
    match split_verb(segment) {
        (name, None) => Ok(name),
        (_, Some(verb)) => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no endpoint has the :{verb} verb with this method"),
        )),
    }
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no endpoint {} {}", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

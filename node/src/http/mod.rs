//! The client-facing HTTP and WebSocket API (DESIGN §7).
//!
//! - [`problem`]: the one mapping from errors to `application/problem+json`.
//! - [`body`]: JSON request bodies, optionally compressed (snappy, lz4);
//!   [`json_shape`]: read as the OpenAPI document describes them.
//! - [`topics`], [`subscriptions`]: the resource routes and their `:verb`s.
//! - [`stream`]: the WebSocket delivery stream; [`publish_stream`]: the WebSocket publish stream.
//! - [`cluster`]: `/v1/cluster` status, `:rebalance`, and removing a node.
//! - [`health`]: `/healthz`, `/readyz`, `/openapi.json`.
//! - [`methods`]: `405` with the `Allow` the OpenAPI document gives the path.
//!
//! axum cannot route `/{name}:verb` (one parameter per segment), so each
//! resource has one `/{name}` route and [`split_verb`] splits the verb off in one
//! place.

pub mod body;
pub mod cluster;
pub mod health;
pub mod json_shape;
pub mod methods;
pub mod problem;
pub mod publish_stream;
pub mod stream;
pub mod subscriptions;
pub mod topics;

use std::sync::Arc;

use api::{ErrorCode, paths};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use tokio_util::task::TaskTracker;
use tower_http::trace::TraceLayer;

use self::problem::ApiError;
use crate::broker::Broker;
use crate::telemetry::Metrics;
use crate::telemetry::metrics::CodeLabel;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub broker: Arc<Broker>,
    /// WebSocket sessions, so shutdown can wait for their close frames.
    pub streams: TaskTracker,
}

/// The client API router.
pub fn router(state: AppState) -> Router {
    let metrics = state.broker.metrics().clone();
    Router::new()
        .route(paths::TOPICS, get(topics::list))
        .route(
            "/v1/topics/{name}",
            get(topics::get)
                .put(topics::create)
                .delete(topics::delete)
                .post(topics::post),
        )
        .route(paths::SUBSCRIPTIONS, get(subscriptions::list))
        .route(
            "/v1/subscriptions/{name}",
            get(subscriptions::get)
                .put(subscriptions::create)
                .delete(subscriptions::delete)
                .post(subscriptions::post),
        )
        .route(paths::CLUSTER, get(cluster::status))
        .route(paths::CLUSTER_REBALANCE, post(cluster::rebalance))
        .route("/v1/cluster/nodes/{id}", delete(cluster::remove_node))
        .route(paths::HEALTHZ, get(health::healthz))
        .route(paths::READYZ, get(health::readyz))
        .route(paths::OPENAPI, get(health::openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(methods::allow_documented_methods))
        .layer(middleware::from_fn_with_state(metrics, count_errors))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Label spans with the route, never the raw path (names are unbounded).
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}

/// Splits `name:verb` at the last colon.
pub fn split_verb(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((name, verb)) => (name, Some(verb)),
        None => (segment, None),
    }
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

/// Counts every error response in `pubsubgo_errors_total`, by code.
async fn count_errors(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        metrics
            .errors
            .get_or_create(&CodeLabel {
                code: code.to_string(),
            })
            .inc();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::split_verb;

    #[test]
    fn splits_at_the_last_colon() {
        assert_eq!(split_verb("orders:publish"), ("orders", Some("publish")));
        assert_eq!(split_verb("orders"), ("orders", None));
        assert_eq!(split_verb("a:b:pull"), ("a:b", Some("pull")));
    }
}

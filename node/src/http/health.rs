//! Liveness, readiness and the API description.

use std::sync::Arc;

use api::ErrorCode;
use api::types::Health;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use super::problem::ApiError;

/// The process is alive and serving HTTP. Never depends on other components.
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The broker accepts work: not shutting down, (with replicated metadata) a
/// leader is known and this node has applied the log up to the commit index,
/// and storage answers. `/healthz` checks none of these.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    if let Some(reason) = state.broker.readiness.unready_reason().await {
        return Err(ApiError::new(ErrorCode::Unavailable, reason));
    }
    Ok(Json(Health {
        status: "ok".to_owned(),
    }))
}

/// The OpenAPI document, with the ack levels this node's storage offers.
pub async fn openapi(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        api::openapi::document(state.broker.catalog.default_ack_level()),
    )
}

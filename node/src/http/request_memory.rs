//! Request bodies in the node's memory budget: a request that declares its
//! body's length holds that many bytes of accounted memory (use
//! `request_bodies`) until its response is ready, so a burst of large
//! publishes counts before it is stored.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::overload::budget::{MemoryBudget, MemoryUse};

/// Middleware holding `Content-Length` bytes while the request is handled;
/// it answers a documented path sent with the wrong method first
/// ([`super::methods::refusal`]), in the same layer: every layer costs each
/// request a clone of the service below it.
pub async fn hold_bodies(
    State(memory): State<Arc<MemoryBudget>>,
    request: Request,
    next: Next,
) -> Response {
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let _held = memory.hold(MemoryUse::RequestBodies, length);
    if let Some(refusal) = super::methods::refusal(&request) {
        return refusal;
    }
    next.run(request).await
}

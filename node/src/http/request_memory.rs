//! Request bodies in the node's memory budget: a request that declares its
//! body's length holds that many bytes of accounted memory (use
//! `request_bodies`) until its response is ready, so a burst of large
//! publishes counts before it is stored. [`super::admit`] holds it.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::header;

use crate::overload::budget::{MemoryBudget, MemoryHold, MemoryUse};

/// Holds the request's `Content-Length` bytes until the hold is dropped.
pub fn hold(memory: &Arc<MemoryBudget>, request: &Request) -> MemoryHold {
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    memory.hold(MemoryUse::RequestBodies, length)
}

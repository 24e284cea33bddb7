//! `405 Method Not Allowed` for a documented path sent with a method the
//! OpenAPI document does not list for it, with that list as `Allow`.
//!
//! One axum route serves a resource and all its `:verb`s, so axum's own
//! `405` would allow every method of the route on every verb; the document
//! knows which verb takes which.

use api::ErrorCode;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::problem::ApiError;

/// The `405` answer to a request whose path is documented without its
/// method; `None` passes it on ([`super::admit`] asks).
pub fn refusal(request: &Request) -> Option<Response> {
    let allowed = api::openapi::allowed_methods(request.uri().path())?;
    if allowed.contains(request.method()) {
        return None;
    }
    let allow = allowed
        .iter()
        .map(|method| method.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}; allowed: {allow}",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Some(response)
}

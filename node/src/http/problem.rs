//! The one mapping from errors to HTTP responses: RFC 9457 problem+json with a
//! stable `code` and `retryable`; 429 and 503 carry `Retry-After`.

use api::error::PROBLEM_CONTENT_TYPE;
use api::{ErrorCode, Problem};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::broker::BrokerError;

/// Seconds a client should wait before retrying a retryable error.
const RETRY_AFTER_SECONDS: &str = "1";

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(Problem::new(code, detail))
    }
}

impl From<BrokerError> for ApiError {
    fn from(error: BrokerError) -> Self {
        Self::from(&error)
    }
}

impl From<&BrokerError> for ApiError {
    fn from(error: &BrokerError) -> Self {
        let code = error.code();
        if code == ErrorCode::Internal || code.retryable() {
            tracing::warn!(%error, %code, "request failed");
        }
        Self::new(code, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if matches!(status.as_u16(), 429 | 503) {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response.extensions_mut().insert(code);
        response
    }
}

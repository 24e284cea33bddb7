//! The one mapping from errors to what the client sees: an RFC 9457
//! problem+json response, or the `problem` of a WebSocket error frame, with a
//! stable `code`, its status, title and `retryable` (see `api::error`). 429,
//! 503 and 507 responses carry `Retry-After`.
//!
//! Every error is counted in `pubsubgo_errors_total` here and only here: HTTP
//! responses by [`count_error`], WebSocket error frames by
//! [`ApiError::into_frame`].

use api::error::PROBLEM_CONTENT_TYPE;
use api::{ErrorCode, Problem};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::broker::BrokerError;
use crate::telemetry::Metrics;

/// Seconds a client should wait before retrying a retryable error.
const RETRY_AFTER_SECONDS: &str = "1";

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(Problem::new(code, detail))
    }

    /// A JSON text (a request body, a WebSocket frame) that did not decode as
    /// `what`: a syntax error is `MALFORMED_JSON`; well-formed JSON of the
    /// wrong shape (unknown field, wrong type, bad base64) is `INVALID_ARGUMENT`.
    pub fn json(what: &str, error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => Self::new(
                ErrorCode::InvalidArgument,
                format!("invalid {what}: {error}"),
            ),
            Category::Syntax | Category::Eof | Category::Io => Self::new(
                ErrorCode::MalformedJson,
                format!("{what} is not valid JSON: {error}"),
            ),
        }
    }

    /// The problem to send in a WebSocket error frame, counted as it is sent.
    pub fn into_frame(self, metrics: &Metrics) -> Problem {
        metrics.count_error(self.0.code);
        self.0
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
        // Back-pressure is announced once where it starts (the memory alarm's
        // log line) and counted per request; a line per refusal would flood
        // the log exactly when the node is short of resources.
        if code == ErrorCode::ResourceExhausted {
            tracing::debug!(%error, %code, "request refused");
        } else if code == ErrorCode::Internal || code.retryable() {
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
        if matches!(status.as_u16(), 429 | 503 | 507) {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        // Read by `count_error`, whose caller has the metrics this response has not.
        response.extensions_mut().insert(code);
        response
    }
}

/// Counts `response` when it is an error response (one made from an
/// [`ApiError`]); [`super::access`] calls it for every request.
pub fn count_error(metrics: &Metrics, response: &Response) {
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        metrics.count_error(*code);
    }
}

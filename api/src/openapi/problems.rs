//! Error responses: every status an operation can answer with, each an
//! `application/problem+json` body of the [`Problem`](crate::Problem) schema.
//!
//! Operations declare the errors only they give (`404` of a missing topic);
//! the ones shared by every operation of a kind are added here:
//! - any parameter or body can be invalid: `400`;
//! - a body can also be too large or of an unsupported type: `413`, `415`;
//! - with authentication or rate limits on, any operation but the health
//!   and document endpoints can be refused: `401`, `403`, `429`;
//! - the broker's storage and metadata can fail: `500`, `503`, `504`, and
//!   storage can be full: `507`.

use serde_json::{Map, Value, json};

use crate::error::{ErrorCode, PROBLEM_CONTENT_TYPE};

/// Operations that never reach storage or metadata, so none of their failures.
const WITHOUT_BROKER: &[&str] = &["cluster_status", "healthz", "readyz", "openapi"];

/// Operations that answer without credentials even with authentication on.
pub(super) const PUBLIC: &[&str] = &["healthz", "readyz", "openapi"];

/// Statuses whose problems carry `Retry-After`.
pub(super) const RETRY_AFTER_STATUSES: &[u16] = &[429, 503, 507];

pub(super) fn add(document: &mut Value) {
    let paths = document["paths"].as_object_mut().into_iter().flatten();
    for (_, item) in paths {
        let operations = item.as_object_mut().into_iter().flatten();
        for (_, operation) in operations {
            let takes_body = operation.get("requestBody").is_some();
            let takes_parameters = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            let id = operation["operationId"].as_str().unwrap_or_default();
            let mut shared = Vec::new();
            if takes_body || takes_parameters {
                shared.push(400);
            }
            if !PUBLIC.contains(&id) {
                // Authentication and rate limits, when configured.
                shared.extend([401, 403, 429]);
            }
            if takes_body {
                shared.extend([413, 415]);
            }
            if !WITHOUT_BROKER.contains(&id) {
                shared.extend([500, 503, 504, 507]);
            }
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            for status in shared {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| json!({ "description": "" }));
            }
            for (status, response) in responses.iter_mut() {
                if let Ok(status @ 400..) = status.parse::<u16>() {
                    make_problem(status, response);
                }
            }
        }
    }
}

/// Serves the response as a problem, described by the codes sent with its status.
fn make_problem(status: u16, response: &mut Value) {
    if response["description"].as_str().is_none_or(str::is_empty) {
        response["description"] = Value::String(codes_of(status));
    }
    response["content"] = json!({
        PROBLEM_CONTENT_TYPE: { "schema": { "$ref": "#/components/schemas/Problem" } }
    });
    if RETRY_AFTER_STATUSES.contains(&status) {
        let headers = response.as_object_mut().map(|r| {
            r.entry("headers")
                .or_insert_with(|| Value::Object(Map::new()))
        });
        if let Some(headers) = headers {
            headers["Retry-After"] = json!({
                "description": "seconds to wait before retrying",
                "required": true,
                "schema": { "type": "integer", "minimum": 0 }
            });
        }
    }
}

/// `INVALID_ARGUMENT, MALFORMED_JSON, ...`: the codes of one status.
fn codes_of(status: u16) -> String {
    ErrorCode::ALL
        .iter()
        .filter(|code| code.status() == status)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

//! Error codes and the RFC 9457 problem body every error response uses.
//!
//! Each [`ErrorCode`] has one HTTP status and says whether a retry is safe
//! and whether the failure is definite ([`ErrorCode::definite`]). Codes are
//! stable: clients match on `code`, never on `detail`.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = ($status:literal, $retryable:literal, $title:literal),)*) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The HTTP status this code is sent with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// Whether the same request may succeed if sent again later.
            pub fn retryable(self) -> bool {
                match self { $(ErrorCode::$variant => $retryable,)* }
            }

            /// A short, fixed summary of the problem type.
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    /// The request body or a parameter breaks the API's rules; `detail` says which.
    InvalidArgument = (400, false, "Invalid argument"),
    /// The request body is not well-formed JSON.
    MalformedJson = (400, false, "Malformed JSON"),
    /// An ack id is not one this broker issued.
    InvalidAckId = (400, false, "Invalid ack id"),
    TopicNotFound = (404, false, "Topic not found"),
    SubscriptionNotFound = (404, false, "Subscription not found"),
    /// The member id is not in the subscription's consumer group (it left, its
    /// session expired, or it never joined): join again for a new id.
    UnknownMember = (404, false, "Unknown member"),
    /// Authentication is on and the request carries no credentials, or
    /// credentials the broker does not accept (unknown API key; a JWT with a bad
    /// signature, wrong audience or issuer, or outside `nbf`..`exp`).
    Unauthenticated = (401, false, "Unauthenticated"),
    /// The principal is known but no allow rule of the policy grants this
    /// action on this resource.
    PermissionDenied = (403, false, "Permission denied"),
    /// No such endpoint or verb.
    NotFound = (404, false, "Not found"),
    MethodNotAllowed = (405, false, "Method not allowed"),
    /// The resource exists already.
    AlreadyExists = (409, false, "Already exists"),
    /// Exactly-once: the ack ids in `detail` belong to expired leases or old
    /// attempts and were not acknowledged; the others in the request were.
    AckExpired = (409, false, "Ack expired"),
    /// The resource's state forbids the request as sent, and sending it again
    /// gets the same answer until that state changes: removing the last voter
    /// of the cluster, joining a shared subscription's group, pulling a
    /// partitioned subscription without `memberId` (or a shared one with it),
    /// pulling or streaming a push subscription, a heartbeat from a generation
    /// the group has not reached.
    FailedPrecondition = (409, false, "Failed precondition"),
    /// A request with the same idempotency key is still being processed.
    IdempotencyKeyInUse = (409, true, "Idempotency key in use"),
    /// A message or a whole request is larger than allowed.
    PayloadTooLarge = (413, false, "Payload too large"),
    /// A request with the same idempotency key but a different body was seen.
    IdempotencyKeyReused = (422, false, "Idempotency key reused with another body"),
    /// The body's `Content-Type` or `Content-Encoding` is not accepted.
    UnsupportedMediaType = (415, false, "Unsupported media type"),
    /// Too many requests or too much outstanding work, retry after
    /// `Retry-After`: the node's memory alarm is raised (publishes are refused
    /// until consumers drain the backlog), a partition of a topic with
    /// `discard: new` is full, a consumer group is full, or publishes in
    /// progress fill the idempotency cache, or a client address or principal
    /// is over its rate limit. Nothing was stored.
    ResourceExhausted = (429, true, "Resource exhausted"),
    /// The storage refused the write for lack of room (Redis at `maxmemory`
    /// answering `OOM`): nothing was stored. Retry after `Retry-After`; it
    /// succeeds once the storage has room again (an operator frees memory or
    /// raises the limit, or retention trims), with no broker restart.
    InsufficientStorage = (507, true, "Insufficient storage"),
    /// The broker cannot serve now (shutting down, storage down); retry after `Retry-After`.
    Unavailable = (503, true, "Service unavailable"),
    /// The write may or may not have happened; retry with the same idempotency key.
    OutcomeUnknown = (504, true, "Outcome unknown"),
    /// A bug: the broker failed in a way it did not expect.
    Internal = (500, false, "Internal error"),
}

impl ErrorCode {
    /// Whether an answer with this code means the request surely did not
    /// happen (a definite failure): true for every code but
    /// [`ErrorCode::OutcomeUnknown`] (it may have happened: a timeout, a lost
    /// answer, a commit whose fate is unknown) and [`ErrorCode::Internal`]
    /// (a bug: anything may have happened). A client may treat a definite
    /// failure as "nothing changed"; after the two others it must read the
    /// state, or retry with the same idempotency key, to find out.
    pub fn definite(self) -> bool {
        !matches!(self, ErrorCode::OutcomeUnknown | ErrorCode::Internal)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// An RFC 9457 problem details body with PubSubGo's extension members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem type: `urn:pubsubgo:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong in this request, for a human.
    pub detail: String,
    pub code: ErrorCode,
    /// Whether sending the same request again may succeed.
    pub retryable: bool,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:pubsubgo:problem:{}", code.to_string().to_lowercase()),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code,
            retryable: code.retryable(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.code, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes_are_the_transient_ones() {
        for code in ErrorCode::ALL {
            let transient = matches!(code.status(), 429 | 503 | 504 | 507)
                || *code == ErrorCode::IdempotencyKeyInUse;
            assert_eq!(code.retryable(), transient, "{code}");
        }
    }

    #[test]
    fn problem_serializes_with_rfc9457_members() {
        let p = Problem::new(ErrorCode::TopicNotFound, "topic orders not found");
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json["type"], "urn:pubsubgo:problem:topic_not_found");
        assert_eq!(json["status"], 404);
        assert_eq!(json["code"], "TOPIC_NOT_FOUND");
        assert_eq!(json["retryable"], false);
    }
}

//! The one mapping from broker errors to gRPC statuses.
//!
//! The code follows the REST API's error code (`BrokerError::code`), so both
//! surfaces agree on what failed and whether a retry can help; the stable
//! REST code travels along as an `ErrorInfo` detail (domain `pubsubgo`,
//! reason e.g. `TOPIC_NOT_FOUND`). Exactly-once ack failures take the shape
//! Google's clients parse: `INVALID_ARGUMENT` with an `ErrorInfo` whose reason
//! is `EXACTLY_ONCE_ACKID_FAILURE` and whose metadata maps each failed ack id
//! to `PERMANENT_FAILURE_INVALID_ACK_ID` (the others in the request were
//! acknowledged).

use std::collections::HashMap;

use api::ErrorCode;
use tonic::{Code, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::broker::BrokerError;

/// `ErrorInfo.domain` of PubSubGo's own error codes.
pub const DOMAIN: &str = "pubsubgo";
/// `ErrorInfo.domain` of Google's exactly-once ack failures.
pub const GOOGLE_DOMAIN: &str = "pubsub.googleapis.com";
/// The reason Google's clients look for on a failed exactly-once ack.
pub const EXACTLY_ONCE_FAILURE: &str = "EXACTLY_ONCE_ACKID_FAILURE";
/// The per-ack-id value of an ack id that will never succeed.
pub const INVALID_ACK_ID: &str = "PERMANENT_FAILURE_INVALID_ACK_ID";

/// The gRPC code of a REST error code.
pub fn code(error: ErrorCode) -> Code {
    match error {
        ErrorCode::InvalidArgument
        | ErrorCode::MalformedJson
        | ErrorCode::InvalidAckId
        | ErrorCode::AckExpired
        | ErrorCode::PayloadTooLarge
        | ErrorCode::IdempotencyKeyReused
        | ErrorCode::UnsupportedMediaType => Code::InvalidArgument,
        ErrorCode::TopicNotFound
        | ErrorCode::SubscriptionNotFound
        | ErrorCode::UnknownMember
        | ErrorCode::NotFound => Code::NotFound,
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
        ErrorCode::MethodNotAllowed => Code::Unimplemented,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::FailedPrecondition => Code::FailedPrecondition,
        // Retryable conflicts: the client's retry settings cover ABORTED.
        ErrorCode::IdempotencyKeyInUse => Code::Aborted,
        ErrorCode::ResourceExhausted | ErrorCode::InsufficientStorage => Code::ResourceExhausted,
        ErrorCode::Unavailable => Code::Unavailable,
        // The write may have happened; Google's clients retry DEADLINE_EXCEEDED.
        ErrorCode::OutcomeUnknown => Code::DeadlineExceeded,
        ErrorCode::Internal => Code::Internal,
    }
}

/// The status a failed broker call answers.
pub fn status(error: BrokerError) -> Status {
    match error {
        BrokerError::AckExpired { ack_ids } => exactly_once_failure(&ack_ids),
        other => {
            let rest = other.code();
            Status::with_error_details(
                code(rest),
                other.to_string(),
                ErrorDetails::with_error_info(rest.to_string(), DOMAIN, HashMap::new()),
            )
        }
    }
}

/// A broker call's result as an RPC's answer.
pub fn answer<T>(result: Result<T, BrokerError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(status)
}

/// Exactly-once: `ack_ids` were not acknowledged (or their deadlines not
/// changed), and never will be.
pub fn exactly_once_failure(ack_ids: &[String]) -> Status {
    let failed: HashMap<String, String> = ack_ids
        .iter()
        .map(|id| (id.clone(), INVALID_ACK_ID.to_owned()))
        .collect();
    Status::with_error_details(
        Code::InvalidArgument,
        format!(
            "not acknowledged, their leases expired or were redelivered: {}",
            ack_ids.join(", ")
        ),
        ErrorDetails::with_error_info(EXACTLY_ONCE_FAILURE, GOOGLE_DOMAIN, failed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_rest_codes() {
        for (rest, grpc) in [
            (ErrorCode::TopicNotFound, Code::NotFound),
            (ErrorCode::AlreadyExists, Code::AlreadyExists),
            (ErrorCode::PayloadTooLarge, Code::InvalidArgument),
            (ErrorCode::ResourceExhausted, Code::ResourceExhausted),
            (ErrorCode::Unavailable, Code::Unavailable),
            (ErrorCode::OutcomeUnknown, Code::DeadlineExceeded),
        ] {
            assert_eq!(code(rest), grpc, "{rest}");
        }
    }

    #[test]
    fn a_stale_exactly_once_ack_names_its_id() {
        let status = status(BrokerError::AckExpired {
            ack_ids: vec!["0.1.1.1".to_owned()],
        });
        assert_eq!(status.code(), Code::InvalidArgument);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, EXACTLY_ONCE_FAILURE);
        assert_eq!(info.metadata["0.1.1.1"], INVALID_ACK_ID);
    }

    #[test]
    fn other_errors_carry_the_rest_code() {
        let status = status(BrokerError::invalid("bad"));
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("INVALID_ARGUMENT", DOMAIN)
        );
    }
}

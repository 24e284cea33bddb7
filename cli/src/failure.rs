//! How a failed command is told to a person: one sentence on stderr, a hint when
//! there is a likely fix, and an exit code scripts can branch on.
//!
//! A server error is shown by its `detail` and stable `code`, never as the raw
//! problem JSON.

use std::io;

use api::{ClientError, ErrorCode};

/// Exit codes of `pubsub-cli`.
pub mod exit_code {
    /// The command did what was asked.
    pub const OK: u8 = 0;
    /// The command failed; stderr says why.
    pub const ERROR: u8 = 1;
    /// The command line was wrong (the code clap uses for usage errors).
    pub const USAGE: u8 = 2;
    /// `cluster status` found the cluster unhealthy.
    pub const CLUSTER_UNHEALTHY: u8 = 10;
}

/// `cluster status` answered, and the cluster is not healthy; exits with
/// [`exit_code::CLUSTER_UNHEALTHY`].
#[derive(Debug, thiserror::Error)]
#[error("the cluster is unhealthy: {reason}")]
pub struct ClusterUnhealthy {
    pub reason: String,
}

/// What to print for a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub message: String,
    pub hint: Option<String>,
}

impl Report {
    /// Describes `error`, met while talking to the server at `server` with a per-request
    /// timeout of `timeout_secs`.
    pub fn new(error: &anyhow::Error, server: &str, timeout_secs: u64) -> Self {
        let Some(client_error) = error.chain().find_map(|e| e.downcast_ref::<ClientError>()) else {
            return Self {
                message: chain_text(error),
                hint: None,
            };
        };
        let mut report = describe_client_error(error, client_error, server, timeout_secs);
        // Context added around the client error, e.g. which batch failed, goes first.
        let outer: Vec<String> = error
            .chain()
            .take_while(|e| e.downcast_ref::<ClientError>().is_none())
            .map(ToString::to_string)
            .collect();
        if !outer.is_empty() {
            report.message = format!("{}: {}", outer.join(": "), report.message);
        }
        report
    }

    /// The lines for stderr.
    pub fn render(&self) -> String {
        match &self.hint {
            Some(hint) => format!("error: {}\nhint: {hint}", self.message),
            None => format!("error: {}", self.message),
        }
    }
}

fn describe_client_error(
    error: &anyhow::Error,
    client_error: &ClientError,
    server: &str,
    timeout_secs: u64,
) -> Report {
    let unreachable = || Report {
        message: format!("cannot connect to {server}"),
        hint: Some(format!(
            "is the server running at {server}? start it with `cargo run --bin pubsubgo-server`"
        )),
    };
    if connection_refused(error) {
        return unreachable();
    }
    match client_error {
        ClientError::Api(problem) => Report {
            message: format!("{} ({})", problem.detail, problem.code),
            hint: hint_for(problem.code, problem.retryable),
        },
        ClientError::Transport { source, .. } if source.is_connect() => unreachable(),
        ClientError::Transport { source, .. } if source.is_timeout() => Report {
            message: format!("{server} did not answer within {timeout_secs}s"),
            hint: Some(
                "raise --timeout; if this was a publish, it may or may not have been stored"
                    .to_owned(),
            ),
        },
        ClientError::UnexpectedResponse { status, .. } => Report {
            message: format!("the server answered HTTP {status} without an error description"),
            hint: Some(format!("is {server} a PubSubGo server?")),
        },
        ClientError::InvalidUrl { url, reason } => Report {
            message: format!("invalid server URL {url:?}: {reason}"),
            hint: Some("pass --server http://HOST:PORT or set PUBSUB_SERVER".to_owned()),
        },
        ClientError::Decode(e) => Report {
            message: format!("the server's answer is not the JSON this CLI expects: {e}"),
            hint: Some("the CLI and the server may be different versions".to_owned()),
        },
        ClientError::Transport { .. } | ClientError::WebSocket(_) => Report {
            message: chain_text(error),
            hint: None,
        },
    }
}

fn hint_for(code: ErrorCode, retryable: bool) -> Option<String> {
    let hint = match code {
        ErrorCode::TopicNotFound => "list topics with `pubsub-cli topics list`",
        ErrorCode::SubscriptionNotFound => {
            "list subscriptions with `pubsub-cli subscriptions list`"
        }
        ErrorCode::OutcomeUnknown => {
            "the write may or may not have happened; retry with the same --idempotency-key"
        }
        ErrorCode::IdempotencyKeyReused => "use a new --idempotency-key for a different message",
        ErrorCode::UnknownMember => {
            "a member is removed when it leaves or sends no heartbeat within its session \
             timeout; join again with `pubsub-cli groups join SUBSCRIPTION` for a new member id"
        }
        _ if retryable => "the server says retrying later may succeed",
        _ => return None,
    };
    Some(hint.to_owned())
}

/// Whether any cause in the chain is a refused TCP connection (HTTP or WebSocket).
fn connection_refused(error: &anyhow::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
    while let Some(e) = cause {
        if e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// `outer: inner: root`, skipping a cause whose text its parent already includes.
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use api::Problem;

    use super::*;

    const SERVER: &str = "http://localhost:8081";

    #[test]
    fn server_problems_show_detail_and_code_without_json() {
        let error = anyhow::Error::new(ClientError::Api(Problem::new(
            ErrorCode::TopicNotFound,
            "topic orders not found",
        )));
        let report = Report::new(&error, SERVER, 30);
        assert_eq!(report.message, "topic orders not found (TOPIC_NOT_FOUND)");
        let text = report.render();
        assert!(text.starts_with("error: topic orders not found (TOPIC_NOT_FOUND)\nhint: "));
        assert!(!text.contains('{'), "no raw JSON in {text}");
    }

    #[test]
    fn a_refused_connection_is_found_deep_in_the_chain() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let error = anyhow::Error::new(refused).context("sending request");
        assert!(connection_refused(&error));
        let other = anyhow::Error::new(io::Error::other("reset")).context("sending request");
        assert!(!connection_refused(&other));
    }

    #[test]
    fn context_is_kept_in_front_of_the_cause() {
        let error = anyhow::Error::new(io::Error::new(io::ErrorKind::NotFound, "no such file"))
            .context("reading payload.bin");
        assert_eq!(
            Report::new(&error, SERVER, 30).render(),
            "error: reading payload.bin: no such file"
        );
    }

    #[test]
    fn context_around_a_server_problem_goes_first() {
        let error = anyhow::Error::new(ClientError::Api(Problem::new(
            ErrorCode::PayloadTooLarge,
            "message 3 is larger than 1024 bytes",
        )))
        .context("publishing batch 2 of 3");
        assert_eq!(
            Report::new(&error, SERVER, 30).render(),
            "error: publishing batch 2 of 3: message 3 is larger than 1024 bytes (PAYLOAD_TOO_LARGE)"
        );
    }

    #[test]
    fn a_lost_member_is_told_to_join_again() {
        let error = anyhow::Error::new(ClientError::Api(Problem::new(
            ErrorCode::UnknownMember,
            "m-1 is not a member of the consumer group of shards; join again",
        )))
        .context("the session of member m-1 in group shards expired");
        let text = Report::new(&error, SERVER, 30).render();
        assert!(
            text.starts_with(
                "error: the session of member m-1 in group shards expired: m-1 is not a member"
            ),
            "{text}"
        );
        assert!(text.contains("(UNKNOWN_MEMBER)\nhint: "), "{text}");
        assert!(text.contains("groups join"), "{text}");
    }

    #[test]
    fn retryable_codes_get_a_hint() {
        assert!(hint_for(ErrorCode::Unavailable, true).is_some());
        assert_eq!(hint_for(ErrorCode::InvalidArgument, false), None);
    }
}

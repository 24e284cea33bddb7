//! One push request: encode the body, sign it (`api::webhook`), POST it,
//! judge the answer.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::push::{PushRequest, SIGNATURE_HEADER, signature};
use api::types::ReceivedMessage;
use api::webhook;
use cluster::PushConfig;
use opentelemetry::trace::TraceContextExt;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::{context, messaging};

/// Longest a push request may take; shorter when the ack deadline is.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Sent as `User-Agent` with every push request.
const AGENT: &str = concat!("PubSubGo-Push/", env!("CARGO_PKG_VERSION"));

/// How one push request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx: ack.
    Delivered,
    /// Anything else: nack.
    Failed(Failure),
}

/// Why a push request failed, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The endpoint answered with a status outside 2xx (redirects are not followed).
    Status(u16),
    /// No answer within the request timeout.
    TimedOut,
    /// The request could not be sent or its answer not read.
    Transport(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "endpoint answered HTTP {status}"),
            Failure::TimedOut => f.write_str("endpoint did not answer in time"),
            Failure::Transport(reason) => write!(f, "request failed: {reason}"),
        }
    }
}

/// The HTTP client of every push dispatcher of one server. Cheap to share.
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
}

impl Sender {
    pub fn new() -> Result<Self, reqwest::Error> {
        // reqwest's TLS (https endpoints) takes the process's crypto provider.
        api::tls::install_default_provider();
        let http = reqwest::Client::builder()
            // A redirected POST would turn into a GET or be replayed elsewhere;
            // a 3xx is a failure and the endpoint's owner fixes the URL.
            .redirect(reqwest::redirect::Policy::none())
            // reqwest is built with HTTP/2 for the API client's option; pushes
            // stay on HTTP/1.1, as before, whatever an https endpoint offers.
            .http1_only()
            .build()?;
        Ok(Self { http })
    }

    /// POSTs `received` to `push.endpoint` and reports how it went.
    pub async fn post(
        &self,
        push: &PushConfig,
        subscription: &str,
        received: &ReceivedMessage,
        timeout: Duration,
    ) -> Outcome {
        let body = PushRequest {
            message: received.message.clone(),
            subscription: subscription.to_owned(),
            delivery_attempt: received.delivery_attempt,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(Failure::Transport(format!("encoding body: {e}"))),
        };
        let mut request = self
            .http
            .post(&push.endpoint)
            .timeout(timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(AGENT));
        if let Some(secret) = &push.secret {
            // Signed over the exact bytes sent: Standard Webhooks' headers (id
            // and timestamp signed with the body, one signature per secret
            // while rotating), and the older body-only header with the first.
            let id = format!("{subscription}/{}", received.message.message_id);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let keys = webhook::keys(secret);
            let first = secret.split_whitespace().next().unwrap_or_default();
            request = request
                .header(SIGNATURE_HEADER, signature(first.as_bytes(), &body))
                .header(
                    webhook::SIGNATURE_HEADER,
                    webhook::sign(&keys, &id, now, &body),
                )
                .header(webhook::TIMESTAMP_HEADER, now)
                .header(webhook::ID_HEADER, id);
        }
        // The endpoint continues the message's trace: its `traceparent` is
        // this request's span, a child of the message's creation context.
        // With tracing off the message's own context is passed on as it is.
        let created = context::from_attributes(&received.message.attributes);
        let span = messaging::push(subscription, created.clone());
        let mut headers = HeaderMap::new();
        context::to_headers(&span.context(), &mut headers);
        if let (true, Some(created)) = (headers.is_empty(), created) {
            let created = opentelemetry::Context::new().with_remote_span_context(created);
            context::to_headers(&created, &mut headers);
        }
        match request
            .headers(headers)
            .body(body)
            .send()
            .instrument(span)
            .await
        {
            Ok(response) if response.status().is_success() => Outcome::Delivered,
            Ok(response) => Outcome::Failed(Failure::Status(response.status().as_u16())),
            Err(e) if e.is_timeout() => Outcome::Failed(Failure::TimedOut),
            Err(e) => Outcome::Failed(Failure::Transport(api::with_causes(&e))),
        }
    }
}

/// The request timeout for a subscription: its ack deadline, at most
/// [`MAX_REQUEST_TIMEOUT`], so a hung endpoint's message is nacked no later
/// than its lease would have expired.
pub fn request_timeout(ack_deadline_seconds: u32) -> Duration {
    Duration::from_secs(u64::from(ack_deadline_seconds)).min(MAX_REQUEST_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_the_ack_deadline_capped() {
        assert_eq!(request_timeout(10), Duration::from_secs(10));
        assert_eq!(request_timeout(60), Duration::from_secs(60));
        assert_eq!(request_timeout(600), MAX_REQUEST_TIMEOUT);
    }
}

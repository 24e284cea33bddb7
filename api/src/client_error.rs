//! Why a call of the Rust client failed: its own file, so the HTTP client
//! ([`crate::client`]) and the WebSocket client ([`crate::stream`]) share it
//! without importing each other.

use thiserror::Error;

use crate::error::Problem;

/// Why a client call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server answered with a problem body.
    #[error("{0}")]
    Api(Problem),
    /// The server answered with an error that is not a problem body.
    #[error("unexpected HTTP {status} from server: {body}")]
    UnexpectedResponse { status: u16, body: String },
    /// The request did not reach the server, or its answer did not arrive.
    #[error("cannot reach {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: TransportError,
    },
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("server answer is not the expected JSON: {0}")]
    Decode(#[source] serde_json::Error),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
}

/// Why an HTTP call got no answer ([`ClientError::Transport`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection to the server (refused, unreachable, or its TLS
    /// handshake failed): the request was not sent.
    #[error("cannot connect: {}", with_causes(.0.as_ref()))]
    Connect(#[source] BoxError),
    /// No whole answer within the client's timeout; the request may have
    /// been sent, and may have taken effect.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The connection failed after the request may have been sent, or the
    /// request could not be built.
    #[error("{}", with_causes(.0.as_ref()))]
    Http(#[source] BoxError),
}

/// `error` and its causes on one line: HTTP clients' errors say little on
/// their own ("client error (Connect)") and name the reason ("Connection
/// refused") in a cause.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl TransportError {
    /// Whether the request was surely not sent (so it took no effect).
    pub fn is_connect(&self) -> bool {
        matches!(self, TransportError::Connect(_))
    }

    /// Whether the call ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TransportError::Timeout(_))
    }

    /// The pooled client's error, sorted by whether a connection was made.
    pub(crate) fn from_pooled(e: hyper_util::client::legacy::Error) -> Self {
        if e.is_connect() {
            TransportError::Connect(Box::new(e))
        } else {
            TransportError::Http(Box::new(e))
        }
    }
}

impl ClientError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Api(p) => p.retryable,
            ClientError::Transport { .. } | ClientError::WebSocket(_) => true,
            _ => false,
        }
    }

    /// The server's problem, when it sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api(p) => Some(p),
            _ => None,
        }
    }
}

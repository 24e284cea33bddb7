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
        source: reqwest::Error,
    },
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("server answer is not the expected JSON: {0}")]
    Decode(#[source] serde_json::Error),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
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

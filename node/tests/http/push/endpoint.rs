//! A real push endpoint for tests: an axum server on 127.0.0.1:0 that records
//! every request, verifies its signature with its own HMAC code (not the
//! broker's), and answers as the test tells it.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// Longest any test waits for a condition.
pub const WAIT: Duration = Duration::from_secs(20);

/// How the endpoint answers.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Verify `X-PubSubGo-Signature` with this key; a bad or missing one is 401.
    pub secret: Option<&'static str>,
    /// Answer 500 to this many requests first, then 200.
    pub fail_first: usize,
    /// Hold each request until the test adds a permit (see [`Endpoint::release`]).
    pub gated: bool,
}

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub body: Value,
    pub signature: Option<String>,
    /// The answer, once given.
    pub status: Option<u16>,
}

/// Everything the endpoint saw so far.
#[derive(Debug, Default, Clone)]
pub struct Log {
    pub requests: Vec<Seen>,
    pub in_flight: usize,
    pub max_in_flight: usize,
    pub bad_signatures: usize,
}

impl Log {
    pub fn answered(&self) -> usize {
        self.requests.iter().filter(|r| r.status.is_some()).count()
    }

    pub fn succeeded(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.status == Some(200))
            .count()
    }

    /// Counts and the last few requests, short enough for a failure message.
    pub fn summary(&self) -> String {
        let last = &self.requests[self.requests.len().saturating_sub(3)..];
        format!(
            "{} requests, {} answered, {} in flight (max {}), {} bad signatures; last: {last:?}",
            self.requests.len(),
            self.answered(),
            self.in_flight,
            self.max_in_flight,
            self.bad_signatures
        )
    }

    /// The `message.data` (base64) of every request, in arrival order.
    pub fn data(&self) -> Vec<String> {
        self.requests
            .iter()
            .map(|r| r.body["message"]["data"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

struct Shared {
    behaviour: Behaviour,
    log: watch::Sender<Log>,
    gate: Semaphore,
}

/// A running endpoint; stops when dropped.
pub struct Endpoint {
    /// The URL to configure as `pushConfig.endpoint`.
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Endpoint {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/push", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            behaviour,
            log: watch::Sender::new(Log::default()),
            gate: Semaphore::new(0),
        });
        let app = Router::new()
            .route("/push", post(receive))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("endpoint serves");
        });
        Self {
            url,
            shared,
            server,
        }
    }

    /// A copy of the log now.
    pub fn log(&self) -> Log {
        self.shared.log.borrow().clone()
    }

    /// Waits until `condition` holds for the log, failing after [`WAIT`].
    pub async fn wait_for(&self, what: &str, condition: impl FnMut(&Log) -> bool) -> Log {
        let mut log = self.shared.log.subscribe();
        match tokio::time::timeout(WAIT, log.wait_for(condition)).await {
            Ok(Ok(log)) => log.clone(),
            _ => panic!("endpoint: {what} did not happen; {}", self.log().summary()),
        }
    }

    /// Lets `n` held requests (present or future) answer.
    pub fn release(&self, n: usize) {
        self.shared.gate.add_permits(n);
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Decrements `in_flight` however the request ends, even if the client goes away.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.log.send_modify(|log| log.in_flight -= 1);
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("x-pubsubgo-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let signed_ok = match shared.behaviour.secret {
        None => true,
        Some(secret) => signature
            .as_deref()
            .is_some_and(|header| header == expected_signature(secret, &body)),
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut index = 0;
    shared.log.send_modify(|log| {
        index = log.requests.len();
        log.requests.push(Seen {
            body: json,
            signature,
            status: None,
        });
        log.in_flight += 1;
        log.max_in_flight = log.max_in_flight.max(log.in_flight);
        if !signed_ok {
            log.bad_signatures += 1;
        }
    });
    let _in_flight = InFlight(shared.clone());
    if shared.behaviour.gated {
        shared.gate.acquire().await.expect("gate open").forget();
    }
    let status = if !signed_ok {
        StatusCode::UNAUTHORIZED
    } else if index < shared.behaviour.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    shared
        .log
        .send_modify(|log| log.requests[index].status = Some(status.as_u16()));
    status
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body`, computed here independently.
fn expected_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

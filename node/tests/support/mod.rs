//! Shared by the node's integration tests: the real router driven in-process,
//! and a real server on loopback ports.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use node::broker::Broker;
use node::http::{AppState, router};
use node::server::memory_broker;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The real router over a fresh in-memory broker, without sockets.
pub fn app() -> (Router, Broker) {
    let broker = memory_broker(CancellationToken::new());
    let state = AppState {
        broker: broker.clone(),
        streams: TaskTracker::new(),
    };
    (router(state), broker)
}

/// A response: status, headers and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts a problem+json error with `status` and `code`; returns its detail.
    pub fn problem(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "status of {:?}", self.body);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "content type of {:?}",
            self.body
        );
        assert_eq!(self.body["code"], code, "code of {:?}", self.body);
        assert_eq!(self.body["status"], status);
        self.body["detail"].as_str().unwrap_or_default().to_owned()
    }

    pub fn ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {:?}",
            self.status,
            self.body
        );
        &self.body
    }
}

/// Sends one request through the router.
pub async fn send(
    app: &Router,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(body)).expect("valid request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Sends a JSON body.
pub async fn json(app: &Router, method: Method, path: &str, body: Value) -> Reply {
    let bytes = serde_json::to_vec(&body).expect("serializable");
    send(
        app,
        method,
        path,
        &[("content-type", "application/json")],
        bytes,
    )
    .await
}

pub async fn get(app: &Router, path: &str) -> Reply {
    send(app, Method::GET, path, &[], Vec::new()).await
}

/// Creates a topic and a subscription on it, asserting both succeed.
pub async fn topic_with_subscription(app: &Router, topic: &str, sub: &str, sub_body: Value) {
    json(
        app,
        Method::PUT,
        &format!("/v1/topics/{topic}"),
        serde_json::json!({"partitions": 4}),
    )
    .await
    .ok();
    let mut body = sub_body;
    body["topic"] = Value::String(topic.to_owned());
    json(app, Method::PUT, &format!("/v1/subscriptions/{sub}"), body)
        .await
        .ok();
}

/// base64 of a UTF-8 string.
pub fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

//! The node's real router driven in-process through `tower`'s `oneshot`, with
//! no sockets: requests as the API documents them, answers as [`Reply`].

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use node::broker::Broker;
use node::http::{AppState, router};
use node::server::memory_broker;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The router over one broker; clones share both.
#[derive(Debug, Clone)]
pub struct App {
    router: Router,
    broker: Broker,
}

impl App {
    /// Over a fresh in-memory broker.
    pub fn memory() -> Self {
        Self::over(memory_broker(CancellationToken::new()))
    }

    /// Over `broker`, e.g. one on Redis storage.
    pub fn over(broker: Broker) -> Self {
        let state = AppState {
            broker: broker.clone(),
            streams: TaskTracker::new(),
            auth: None,
            limits: None,
        };
        Self {
            router: router(state),
            broker,
        }
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Sends one request with raw `headers` and `body`.
    pub async fn send(
        &self,
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
        let response = self
            .router
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

    /// Sends `body` as JSON.
    pub async fn json(&self, method: Method, path: &str, body: Value) -> Reply {
        let bytes = serde_json::to_vec(&body).expect("serializable");
        self.send(method, path, &[("content-type", "application/json")], bytes)
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], Vec::new()).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, &[], Vec::new()).await
    }

    /// `PUT /v1/topics/{name}`.
    pub async fn put_topic(&self, name: &str, body: Value) -> Reply {
        self.json(Method::PUT, &format!("/v1/topics/{name}"), body)
            .await
    }

    /// `PUT /v1/subscriptions/{name}`.
    pub async fn put_subscription(&self, name: &str, body: Value) -> Reply {
        self.json(Method::PUT, &format!("/v1/subscriptions/{name}"), body)
            .await
    }

    /// Creates a 4-partition topic and a subscription on it (`sub_body` plus
    /// the topic), asserting both succeed.
    pub async fn topic_with_subscription(&self, topic: &str, sub: &str, sub_body: Value) {
        self.put_topic(topic, json!({"partitions": 4})).await.ok();
        let mut body = sub_body;
        body["topic"] = Value::String(topic.to_owned());
        self.put_subscription(sub, body).await.ok();
    }

    /// `POST /v1/topics/{topic}:publish` of `messages` (a JSON array).
    pub async fn publish(&self, topic: &str, messages: Value) -> Reply {
        self.json(
            Method::POST,
            &format!("/v1/topics/{topic}:publish"),
            json!({ "messages": messages }),
        )
        .await
    }

    /// `POST /v1/subscriptions/{sub}:{verb}`, e.g. `pull`, `acknowledge`, `nack`.
    pub async fn verb(&self, sub: &str, verb: &str, body: Value) -> Reply {
        self.json(
            Method::POST,
            &format!("/v1/subscriptions/{sub}:{verb}"),
            body,
        )
        .await
    }

    /// `:pull` with `body`; answers the received messages, asserting success.
    pub async fn pull(&self, sub: &str, body: Value) -> Vec<Value> {
        self.verb(sub, "pull", body).await.received()
    }

    /// `:acknowledge` of `ack_ids`, asserting success.
    pub async fn ack(&self, sub: &str, ack_ids: &[&str]) {
        self.verb(sub, "acknowledge", json!({ "ackIds": ack_ids }))
            .await
            .ok();
    }
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

    /// Asserts success; returns the body.
    pub fn ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {:?}",
            self.status,
            self.body
        );
        &self.body
    }

    /// The `receivedMessages` of a successful pull (empty when there are none),
    /// asserting the answer is JSON (the server writes it by hand).
    pub fn received(&self) -> Vec<Value> {
        let body = self.ok();
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "content type of a pull's answer"
        );
        body["receivedMessages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// base64 of a UTF-8 string, as the API carries message data.
pub fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

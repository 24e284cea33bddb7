//! Builders for the typed client ([`api::Client`]): the requests and calls
//! that tests against a running node share.

use std::time::Duration;

use api::client::{Client, ClientError, PublishOptions};
use api::frames::ServerFrame;
use api::stream::Subscriber;
use api::types::{
    CreateSubscriptionRequest, CreateTopicRequest, PublishMessage, PublishRequest, PublishResponse,
    PullRequest, SubscriptionStats,
};

/// A client of the node at `url`, with a 30 s request timeout.
pub fn connect(url: &str) -> Client {
    Client::new(url, Duration::from_secs(30)).expect("an HTTP client")
}

/// A topic with `partitions` and defaults otherwise.
pub fn topic(partitions: u32) -> CreateTopicRequest {
    CreateTopicRequest {
        partitions: Some(partitions),
        ..CreateTopicRequest::default()
    }
}

/// A subscription on `topic` with defaults otherwise.
pub fn subscription(topic: &str) -> CreateSubscriptionRequest {
    CreateSubscriptionRequest {
        topic: topic.to_owned(),
        ..CreateSubscriptionRequest::default()
    }
}

/// A message carrying `data` and nothing else.
pub fn text(data: &str) -> PublishMessage {
    PublishMessage {
        data: data.into(),
        ..PublishMessage::default()
    }
}

/// A message carrying `data` with ordering key `key`.
pub fn keyed(data: &str, key: &str) -> PublishMessage {
    PublishMessage {
        ordering_key: Some(key.to_owned()),
        ..text(data)
    }
}

/// Publishes `messages` in one request with default options.
pub async fn publish(
    client: &Client,
    topic: &str,
    messages: Vec<PublishMessage>,
) -> Result<PublishResponse, ClientError> {
    client
        .publish(
            topic,
            &PublishRequest { messages },
            &PublishOptions::default(),
        )
        .await
}

/// Pulls (without waiting) and acks until nothing is deliverable; answers
/// every payload as text, in the order received.
pub async fn drain(client: &Client, subscription: &str) -> Result<Vec<String>, ClientError> {
    let request = PullRequest {
        max_messages: Some(1000),
        wait_seconds: Some(0),
        member_id: None,
    };
    let mut seen = Vec::new();
    loop {
        let pulled = client.pull(subscription, &request).await?;
        if pulled.received_messages.is_empty() {
            return Ok(seen);
        }
        let mut ack_ids = Vec::new();
        for m in pulled.received_messages {
            seen.push(String::from_utf8(m.message.data.0.to_vec()).expect("a UTF-8 payload"));
            ack_ids.push(m.ack_id);
        }
        client.acknowledge(subscription, ack_ids).await?;
    }
}

/// A plain HTTP client for calls the typed client does not make: no proxy,
/// a 30 s timeout, the rustls provider installed (reqwest has none of its own).
pub fn http() -> reqwest::Client {
    api::tls::install_default_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// The metrics text a node serves at `metrics_url`.
pub async fn metrics(metrics_url: &str) -> String {
    reqwest::get(format!("{metrics_url}/metrics"))
        .await
        .expect("metrics reachable")
        .text()
        .await
        .expect("metrics text")
}

/// Longest a test waits for the next frame of a stream.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

/// The next frame of `stream`, which must come within [`FRAME_WAIT`] and parse.
pub async fn next_frame(stream: &mut Subscriber) -> ServerFrame {
    tokio::time::timeout(FRAME_WAIT, stream.next())
        .await
        .expect("a frame within the wait")
        .expect("stream open")
        .expect("valid frame")
}

/// The stats of `subscription`, as `GET /v1/subscriptions/{name}` reports them.
pub async fn subscription_stats(client: &Client, subscription: &str) -> SubscriptionStats {
    client
        .get_subscription(subscription)
        .await
        .expect("get subscription")
        .stats
        .expect("stats")
}

//! WebSocket streaming against a real server: delivery after connect, credit
//! flow control, acks over the socket, redelivery after a dropped socket, the
//! close frame on shutdown, and malformed JSON (on both sockets and over HTTP)
//! answered and counted alike.

use std::time::Duration;

use api::frames::{PublishAnswer, ServerFrame};
use api::stream::Subscriber;
use api::types::{CreateSubscriptionRequest, PullRequest};
use api::{Client, ErrorCode};
use futures::{SinkExt, StreamExt};
use node::TestNode;
use testkit::client::{connect, next_frame, subscription, subscription_stats, text, topic};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const WAIT: Duration = Duration::from_secs(10);
/// How often a condition is re-checked while waiting for it.
const POLL: Duration = Duration::from_millis(5);

/// A node with a 2-partition topic `live` and a subscription `screen` on it,
/// and a client of it.
async fn start(ack_deadline_seconds: u32) -> (TestNode, Client) {
    let node = TestNode::start().await.expect("server");
    let client = connect(&node.url);
    client.create_topic("live", &topic(2)).await.expect("topic");
    let sub = CreateSubscriptionRequest {
        ack_deadline_seconds: Some(ack_deadline_seconds),
        ..subscription("live")
    };
    client
        .create_subscription("screen", &sub)
        .await
        .expect("subscription");
    (node, client)
}

async fn publish(client: &Client, texts: &[String]) {
    let messages = texts.iter().map(|t| text(t)).collect();
    testkit::client::publish(client, "live", messages)
        .await
        .expect("publish");
}

/// The next message frame: (ack id, data as text, attempt). Fails after [`WAIT`].
async fn next_message(stream: &mut Subscriber) -> (String, String, u32) {
    match next_frame(stream).await {
        ServerFrame::Message {
            ack_id,
            message,
            delivery_attempt,
            ..
        } => (
            ack_id,
            String::from_utf8(message.data.0.to_vec()).expect("utf-8"),
            delivery_attempt,
        ),
        ServerFrame::Error { problem } => panic!("unexpected error frame: {problem}"),
    }
}

/// Waits until the subscription reports `outstanding` leased messages.
async fn wait_for_outstanding(client: &Client, outstanding: u64) {
    tokio::time::timeout(WAIT, async {
        loop {
            let stats = subscription_stats(client, "screen").await;
            if stats.outstanding_messages == outstanding {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await
    .expect("outstanding count reached");
}

#[test_log::test(tokio::test)]
async fn subscriber_receives_messages_published_after_connecting() {
    let (node, client) = start(60).await;
    let mut stream = client.stream("screen").await.expect("connect");
    stream.credit(10).await.expect("credit");
    wait_for_open_stream(&node).await;

    publish(&client, &["hello".to_owned()]).await;
    let (ack_id, data, attempt) = next_message(&mut stream).await;
    assert_eq!((data.as_str(), attempt), ("hello", 1));
    stream.ack(vec![ack_id]).await.expect("ack");
    wait_for_outstanding(&client, 0).await;
    let stats = subscription_stats(&client, "screen").await;
    assert_eq!(
        stats.backlog_messages, 0,
        "the ack over the socket was applied"
    );
    stream.close().await.expect("close");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn credit_bounds_outstanding_messages() {
    let (node, client) = start(60).await;
    publish(
        &client,
        &(0..10).map(|i| format!("m{i}")).collect::<Vec<_>>(),
    )
    .await;

    tracing::info!("with credit 5 and no acks, the stream holds exactly 5");
    let mut stream = client.stream("screen").await.expect("connect");
    stream.credit(5).await.expect("credit");
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(next_message(&mut stream).await);
    }
    wait_for_outstanding(&client, 5).await;
    let pulled = client
        .pull(
            "screen",
            &PullRequest {
                max_messages: Some(100),
                ..Default::default()
            },
        )
        .await
        .expect("pull");
    assert_eq!(
        pulled.received_messages.len(),
        5,
        "the stream leased no more than its credit"
    );
    wait_for_outstanding(&client, 10).await;

    tracing::info!("an ack frees one slot: the next published message flows");
    publish(&client, &["late".to_owned()]).await;
    stream.ack(vec![held[0].0.clone()]).await.expect("ack");
    let (_, data, _) = next_message(&mut stream).await;
    assert_eq!(data, "late");

    tracing::info!("credit 0 pauses delivery");
    stream.credit(0).await.expect("credit 0");
    stream
        .ack(held[1..].iter().map(|h| h.0.clone()).collect())
        .await
        .expect("ack rest");
    publish(&client, &["held back".to_owned()]).await;
    wait_for_outstanding(&client, 6).await; // 5 pulled + "late"
    let stats = subscription_stats(&client, "screen").await;
    assert_eq!(
        stats.backlog_messages, 7,
        "5 pulled + late + held back still unacked"
    );
    node.stop().await;
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn leases_of_a_dropped_socket_expire_and_redeliver() {
    let (node, client) = start(10).await;
    publish(&client, &["fragile".to_owned()]).await;
    let mut stream = client.stream("screen").await.expect("connect");
    stream.credit(1).await.expect("credit");
    let (_, data, attempt) = next_message(&mut stream).await;
    assert_eq!((data.as_str(), attempt), ("fragile", 1));
    drop(stream);

    tracing::info!("after the 10 s deadline, a new subscriber gets it with attempt 2");
    let mut again = client.stream("screen").await.expect("reconnect");
    again.credit(1).await.expect("credit");
    let frame = tokio::time::timeout(Duration::from_secs(20), again.next())
        .await
        .expect("redelivered within deadline + margin")
        .expect("open")
        .expect("frame");
    let ServerFrame::Message {
        delivery_attempt, ..
    } = frame
    else {
        panic!("expected a message, got {frame:?}");
    };
    assert_eq!(delivery_attempt, 2);
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn bad_frames_get_error_frames_and_the_stream_stays_open() {
    let (node, client) = start(60).await;
    let mut stream = client.stream("screen").await.expect("connect");
    stream.ack(vec!["nonsense".into()]).await.expect("send");
    let frame = next_frame(&mut stream).await;
    let ServerFrame::Error { problem } = frame else {
        panic!("expected an error frame, got {frame:?}");
    };
    assert_eq!(problem.code, api::ErrorCode::InvalidAckId);
    stream.credit(1).await.expect("still open");
    publish(&client, &["after error".to_owned()]).await;
    assert_eq!(next_message(&mut stream).await.1, "after error");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn shutdown_sends_a_close_frame() {
    let (node, client) = start(60).await;
    let mut stream = client.stream("screen").await.expect("connect");
    stream.credit(1).await.expect("credit");
    wait_for_open_stream(&node).await;
    let stopping = tokio::spawn(node.stop());
    let end = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("closed within the wait");
    assert!(
        end.is_none(),
        "the server closed the stream with a close frame, got {end:?}"
    );
    stopping.await.expect("server stopped");
}

#[test_log::test(tokio::test)]
async fn streaming_a_missing_subscription_is_not_found() {
    let node = TestNode::start().await.expect("server");
    let client = Client::new(&node.url, WAIT).expect("client");
    let err = client
        .stream("nobody")
        .await
        .expect_err("no such subscription");
    assert!(err.to_string().contains("404"), "{err}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn malformed_json_is_malformed_json_everywhere_and_each_error_counts_once() {
    let (node, client) = start(60).await;
    // Each text below is cut off where it still has the right shape, so only
    // its syntax is wrong.

    tracing::info!("act: a malformed frame on :stream");
    let frame = serde_json::from_str::<ServerFrame>(
        &raw_exchange(
            &node,
            "/v1/subscriptions/screen:stream",
            r#"{"type":"credit","messages":"#,
        )
        .await,
    )
    .expect("a server frame");
    let ServerFrame::Error { problem } = frame else {
        panic!("expected an error frame, got {frame:?}");
    };
    assert_eq!(problem.code, ErrorCode::MalformedJson);
    assert_eq!(
        errors_counted(&node, ErrorCode::MalformedJson),
        1,
        "the frame counted once"
    );

    tracing::info!("act: a malformed frame on :publishStream");
    let answer = serde_json::from_str::<PublishAnswer>(
        &raw_exchange(
            &node,
            "/v1/topics/live:publishStream",
            r#"{"id":1,"messages":["#,
        )
        .await,
    )
    .expect("a publish answer");
    let PublishAnswer::Error { id: None, problem } = answer else {
        panic!("expected an error answer without an id, got {answer:?}");
    };
    assert_eq!(problem.code, ErrorCode::MalformedJson);
    assert_eq!(
        errors_counted(&node, ErrorCode::MalformedJson),
        2,
        "the answer counted once"
    );

    tracing::info!("act: a malformed request body over HTTP");
    api::tls::install_default_provider();
    let reply = reqwest::Client::new()
        .post(format!(
            "{}/v1/subscriptions/screen:pull",
            client.base_url()
        ))
        .header("content-type", "application/json")
        .body(r#"{"maxMessages":"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(reply.status().as_u16(), 400);
    let problem: api::Problem = reply.json().await.expect("problem body");
    assert_eq!(problem.code, ErrorCode::MalformedJson);
    assert_eq!(
        errors_counted(&node, ErrorCode::MalformedJson),
        3,
        "the response counted once"
    );
    node.stop().await;
}

/// Opens a raw WebSocket on `path`, sends `text`, and answers the first text frame back.
async fn raw_exchange(node: &TestNode, path: &str, text: &str) -> String {
    let url = format!("{}{path}", node.url.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    socket.send(WsMessage::text(text)).await.expect("send");
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame within the wait")
            .expect("open")
            .expect("frame");
        if let WsMessage::Text(text) = frame {
            return text.to_string();
        }
    }
}

/// `pubsubgo_errors_total` for `code`, as the metrics endpoint would show it.
fn errors_counted(node: &TestNode, code: ErrorCode) -> u64 {
    let prefix = format!("pubsubgo_errors_total{{code=\"{code}\"}} ");
    node.broker
        .metrics
        .encode()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .map_or(0, |count| count.parse().expect("a count"))
}

/// Waits until the server counts one open WebSocket session.
async fn wait_for_open_stream(node: &TestNode) {
    let gauge = node.broker.metrics.connections("websocket");
    tokio::time::timeout(WAIT, async {
        while gauge.get() < 1 {
            tokio::time::sleep(POLL).await;
        }
    })
    .await
    .expect("stream session started");
}

//! `:publishStream` and binary `:stream` against a real server: pipelined
//! publishes answered in order in both encodings, bad frames refused alone with
//! nothing lost, idempotency keys, one binary frame per lease, and a missing topic.

use std::collections::BTreeSet;
use std::time::Duration;

use api::binary::{self, BinaryMessage, Frame, Kind, PublishBatch};
use api::frames::{PublishAnswer, ServerFrame};
use api::stream::{Encoding, Publisher};
use api::types::{CreateTopicRequest, PublishMessage, PublishRequest};
use api::{Client, ErrorCode};
use futures::{SinkExt, StreamExt};
use node::TestNode;
use testkit::client::{connect, keyed, next_frame, subscription, text};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const WAIT: Duration = Duration::from_secs(10);

/// A client of `node` with a 4-partition topic `feed` (messages of at most
/// 1 KiB) and a subscription `reader` on it.
async fn setup(node: &TestNode) -> Client {
    let client = connect(&node.url);
    let topic = CreateTopicRequest {
        max_message_bytes: Some(1024),
        ..testkit::client::topic(4)
    };
    client.create_topic("feed", &topic).await.expect("topic");
    client
        .create_subscription("reader", &subscription("feed"))
        .await
        .expect("subscription");
    client
}

/// A node set up as [`setup`] does, a client, and a publisher to `feed`.
async fn publishing(encoding: Encoding) -> (TestNode, Client, Publisher) {
    let node = TestNode::start().await.expect("server");
    let client = setup(&node).await;
    let publisher = client.publisher("feed", encoding).await.expect("connect");
    (node, client, publisher)
}

/// Pulls and acks until `reader` is empty; answers every payload.
async fn drain(client: &Client) -> Vec<String> {
    testkit::client::drain(client, "reader")
        .await
        .expect("pull and ack")
}

type RawSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw `:stream?encoding=binary` socket (tungstenite's default limits) with credit 100.
async fn binary_stream(node: &TestNode, subscription: &str) -> RawSocket {
    let url = format!(
        "{}/v1/subscriptions/{subscription}:stream?encoding=binary",
        node.url.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    socket
        .send(WsMessage::text(r#"{"type":"credit","messages":100}"#))
        .await
        .expect("credit");
    socket
}

/// The next frame, which must be a binary deliveries frame within the client's limits.
async fn next_deliveries(socket: &mut RawSocket) -> api::binary::Deliveries {
    let frame = tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("a frame within the wait")
        .expect("open")
        .expect("a frame within the client's limits");
    let WsMessage::Binary(bytes) = frame else {
        panic!("expected a binary frame, got {frame:?}");
    };
    let Ok(Frame::Deliveries(deliveries)) = binary::decode(&bytes) else {
        panic!("not a deliveries frame");
    };
    deliveries
}

/// Drains the subscription and checks it delivered exactly `expected`, each once.
async fn assert_delivered_once(client: &Client, expected: BTreeSet<String>) {
    let delivered = drain(client).await;
    assert_eq!(delivered.len(), expected.len(), "every message once");
    assert_eq!(delivered.into_iter().collect::<BTreeSet<_>>(), expected);
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn pipelined_publishes_are_answered_in_order_in_both_encodings() {
    let node = TestNode::start().await.expect("server");
    let client = setup(&node).await;
    let mut expected = BTreeSet::new();
    for encoding in [Encoding::Json, Encoding::Binary] {
        let mut publisher = client.publisher("feed", encoding).await.expect("connect");
        let name = encoding.name();
        // 300 publishes of 2 messages in flight at once; one key keeps them in one partition.
        for i in 0..300 {
            let texts = [format!("{name}-{i}-a"), format!("{name}-{i}-b")];
            let request = PublishRequest {
                messages: texts.iter().map(|t| keyed(t, name)).collect(),
            };
            expected.extend(texts);
            assert_eq!(publisher.send(request, None).await.expect("send"), i);
        }
        let mut last_offset = None;
        for i in 0..300 {
            let (id, outcome) = tokio::time::timeout(WAIT, publisher.next_answer())
                .await
                .expect("an answer within the wait")
                .expect("stream open")
                .expect("readable answer");
            assert_eq!(id, i, "answers come in the order sent");
            let response = outcome.expect("stored");
            assert_eq!(response.offsets.len(), 2);
            assert_eq!(response.partitions[0], response.partitions[1]);
            for offset in response.offsets {
                assert!(last_offset < Some(offset), "offsets grow in publish order");
                last_offset = Some(offset);
            }
        }
        publisher.close().await.expect("close");
    }
    assert_eq!(expected.len(), 1_200);
    assert_delivered_once(&client, expected).await;
    node.stop().await;
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn more_than_a_request_of_unkeyed_publishes_mixed_with_keyed_ones_is_stored_once_each() {
    let (node, client, mut publisher) = publishing(Encoding::Binary).await;
    // 40 unkeyed publishes of 50 messages (2,000: more than one append may carry),
    // every fifth one keyed for deduplication, all sent before any answer is read.
    let mut expected = BTreeSet::new();
    for i in 0..40u64 {
        let texts: Vec<String> = (0..50).map(|j| format!("mixed-{i}-{j}")).collect();
        let request = PublishRequest {
            messages: texts.iter().map(|t| text(t)).collect(),
        };
        expected.extend(texts);
        let key = (i % 5 == 0).then(|| format!("batch-{i}"));
        assert_eq!(publisher.send(request, key).await.expect("send"), i);
    }
    let answers = publisher
        .close()
        .await
        .expect("every publish answered, then closed");
    assert_eq!(answers.len(), 40);
    let mut partitions = BTreeSet::new();
    for (i, (id, outcome)) in answers.into_iter().enumerate() {
        assert_eq!(id, i as u64, "answers come in the order sent");
        let response = outcome.expect("stored");
        assert_eq!(response.offsets.len(), 50);
        assert!(!response.deduplicated);
        partitions.extend(response.partitions);
    }
    assert!(
        partitions.len() > 1,
        "unkeyed publishes spread over partitions"
    );
    assert_eq!(expected.len(), 2_000);
    assert_delivered_once(&client, expected).await;
    node.stop().await;
}

/// The answers to this many publishes (about 350 bytes each in JSON, 17 MB in
/// all) are more than the sockets buffer on loopback: a client that did not read while sending
/// would stall the server, which stops reading while its answers wait.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_publisher_may_send_far_more_than_the_sockets_buffer_before_reading() {
    let (node, _client, mut publisher) = publishing(Encoding::Json).await;
    const PUBLISHES: u64 = 50_000;
    let sending = async {
        for i in 0..PUBLISHES {
            let request = PublishRequest {
                messages: (0..10).map(|j| text(&format!("{i}.{j}"))).collect(),
            };
            publisher.send(request, None).await.expect("send");
            if i % 1000 == 999 {
                publisher.flush().await.expect("flush");
            }
        }
        publisher.flush().await.expect("flush");
    };
    tokio::time::timeout(Duration::from_secs(30), sending)
        .await
        .expect("sending never waits on unread answers");
    let answers = publisher.close().await.expect("every publish answered");
    assert_eq!(answers.len(), PUBLISHES as usize);
    assert!(answers.iter().all(|(_, outcome)| outcome.is_ok()));
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn bad_frames_are_refused_alone_and_lose_nothing() {
    let node = TestNode::start().await.expect("server");
    let client = setup(&node).await;
    let url = format!(
        "{}/v1/topics/feed:publishStream",
        node.url.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let binary_publish = |id: u64, data: &'static [u8]| {
        let batch = PublishBatch {
            id,
            idempotency_key: None,
            messages: vec![BinaryMessage {
                data: data.into(),
                ..Default::default()
            }],
        };
        WsMessage::binary(binary::encode(Kind::Publish, &batch))
    };
    let frames = [
        WsMessage::text(r#"{"id":1,"messages":[{"data":"Zmlyc3Q="}]}"#),
        WsMessage::text(r#"{"id":2,"messages":["#),
        WsMessage::text(r#"{"id":3,"messages":[{"data":"eA=="}],"extra":true}"#),
        WsMessage::text(r#"{"id":4,"messages":[]}"#),
        WsMessage::text(r#"{"id":5,"messages":[{"data":"not base64!"}]}"#),
        WsMessage::binary(vec![1, 0xff]),
        WsMessage::binary(vec![42]),
        binary_publish(8, &[b'x'; 2000]),
        binary_publish(9, b"last"),
    ];
    for frame in frames {
        socket.send(frame).await.expect("send");
    }
    let mut answers = Vec::new();
    while answers.len() < 9 {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("an answer within the wait")
            .expect("open")
            .expect("frame");
        match frame {
            WsMessage::Text(text) => {
                let answer: PublishAnswer = serde_json::from_str(&text).expect("answer json");
                answers.push(match answer {
                    PublishAnswer::Published { id, .. } => (Some(id), None),
                    PublishAnswer::Error { id, problem } => (id, Some(problem.code)),
                });
            }
            WsMessage::Binary(bytes) => {
                let Ok(Frame::Published(published)) = binary::decode(&bytes) else {
                    panic!("not a published frame: {bytes:?}");
                };
                answers.push((Some(published.id), None));
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(
        answers,
        [
            (Some(1), None),
            (None, Some(ErrorCode::MalformedJson)),
            (Some(3), Some(ErrorCode::InvalidArgument)),
            (Some(4), Some(ErrorCode::InvalidArgument)),
            (Some(5), Some(ErrorCode::InvalidArgument)),
            (None, Some(ErrorCode::InvalidArgument)),
            (None, Some(ErrorCode::InvalidArgument)),
            (Some(8), Some(ErrorCode::PayloadTooLarge)),
            (Some(9), None),
        ]
    );
    let mut delivered = drain(&client).await;
    delivered.sort();
    assert_eq!(
        delivered,
        ["first", "last"],
        "exactly the two good messages are stored"
    );
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn an_idempotency_key_on_the_stream_stores_once() {
    let (node, client, mut publisher) = publishing(Encoding::Binary).await;
    let request = || PublishRequest {
        messages: vec![text("once")],
    };
    let first = publisher
        .publish(request(), Some("order-17".into()))
        .await
        .expect("first");
    let again = publisher
        .publish(request(), Some("order-17".into()))
        .await
        .expect("retry");
    assert!(!first.deduplicated);
    assert!(again.deduplicated);
    assert_eq!(
        (again.partitions, again.offsets),
        (first.partitions, first.offsets)
    );
    assert_eq!(drain(&client).await, ["once"]);
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_binary_stream_sends_each_lease_as_one_frame() {
    let node = TestNode::start().await.expect("server");
    let client = setup(&node).await;
    let texts: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    let request = PublishRequest {
        messages: texts.iter().map(|t| text(t)).collect(),
    };
    client
        .publish("feed", &request, &Default::default())
        .await
        .expect("publish");
    let mut socket = binary_stream(&node, "reader").await;
    let deliveries = next_deliveries(&mut socket).await;
    let mut got: Vec<String> = deliveries
        .messages
        .iter()
        .map(|d| String::from_utf8(d.data.to_vec()).expect("utf-8"))
        .collect();
    got.sort();
    let mut want = texts.clone();
    want.sort();
    assert_eq!(got, want, "the whole backlog in the first frame");
    drop(socket);

    // The client's Subscriber hands a binary frame out one message at a time, and acks work.
    let mut subscriber = client
        .stream_with("reader", Encoding::Binary)
        .await
        .expect("connect");
    subscriber.credit(10).await.expect("credit");
    client
        .publish(
            "feed",
            &PublishRequest {
                messages: vec![text("later")],
            },
            &Default::default(),
        )
        .await
        .expect("publish");
    let frame = next_frame(&mut subscriber).await;
    let ServerFrame::Message {
        ack_id, message, ..
    } = frame
    else {
        panic!("expected a message, got {frame:?}");
    };
    assert_eq!(message.data.0.as_ref(), b"later");
    subscriber.ack(vec![ack_id]).await.expect("ack");
    node.stop().await;
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_lease_over_8_mib_goes_out_in_several_binary_frames() {
    let node = TestNode::start().await.expect("server");
    let client = connect(&node.url);
    client
        .create_topic("big", &CreateTopicRequest::default())
        .await
        .expect("topic");
    client
        .create_subscription("big-reader", &subscription("big"))
        .await
        .expect("subscription");
    // 12 messages of 1 MiB (the default limit): 12 MiB in one lease.
    let payload = vec![b'z'; 1024 * 1024];
    for _ in 0..2 {
        let request = PublishRequest {
            messages: (0..6)
                .map(|_| PublishMessage {
                    data: payload.clone().into(),
                    ..Default::default()
                })
                .collect(),
        };
        client
            .publish("big", &request, &Default::default())
            .await
            .expect("publish");
    }
    // tungstenite's default limits (16 MiB frames) on purpose.
    let mut socket = binary_stream(&node, "big-reader").await;
    let mut frames = 0;
    let mut received = 0;
    while received < 12 {
        let deliveries = next_deliveries(&mut socket).await;
        let payload_bytes: usize = deliveries.messages.iter().map(|d| d.data.len()).sum();
        assert!(
            payload_bytes <= 8 * 1024 * 1024,
            "{payload_bytes} bytes in one frame"
        );
        assert!(
            deliveries
                .messages
                .iter()
                .all(|d| d.data.as_ref() == payload.as_slice())
        );
        frames += 1;
        received += deliveries.messages.len();
    }
    assert_eq!(received, 12);
    assert!(frames >= 2, "12 MiB needs at least two frames");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_publish_stream_needs_an_existing_topic_and_an_upgrade() {
    let node = TestNode::start().await.expect("server");
    let client = Client::new(&node.url, WAIT).expect("client");
    let err = client
        .publisher("nowhere", Encoding::Json)
        .await
        .expect_err("no such topic");
    assert!(err.to_string().contains("404"), "{err}");
    setup(&node).await;
    let plain = reqwest::get(format!("{}/v1/topics/feed:publishStream", node.url))
        .await
        .expect("request");
    assert_eq!(plain.status(), 400);
    assert_eq!(
        plain.headers()["content-type"],
        api::error::PROBLEM_CONTENT_TYPE
    );
    node.stop().await;
}

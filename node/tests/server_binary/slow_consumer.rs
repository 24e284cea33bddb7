//! A WebSocket consumer that stops reading while messages keep coming: the
//! server's memory stays bounded (the topic's size bound holds what is
//! stored, credit and the socket hold what is on its way), and once the
//! client has taken no frame for the write timeout the stream is closed with
//! code 1008 and a reason starting `slow consumer`.

use std::time::Duration;

use api::types::{CreateTopicRequest, PublishMessage, RetentionSpec};
use futures::{SinkExt, StreamExt};
use testkit::client::{publish, subscription};
use testkit::server_process::{DataDir, WAIT};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::process::{LOCAL, resident_bytes, start};

const MESSAGE_BYTES: usize = 64 * 1024;
/// Far more than the socket buffers take (a few MiB each way on loopback).
const CREDIT: u32 = 400;
/// What the topic keeps.
const TOPIC_BOUND: u64 = 8 * 1024 * 1024;
/// What flows through while the consumer does not read: 24 times the topic's bound.
const MESSAGES: usize = 3072;
/// What the process may grow by: the topic's bound, the leased messages on
/// their way (credit × size, held while trimmed from the topic), the
/// socket's buffers and the overhead of `memory_bound`.
const GROWTH: u64 = TOPIC_BOUND + CREDIT as u64 * MESSAGE_BYTES as u64 + 64 * 1024 * 1024;

#[test_log::test]
fn a_consumer_that_stops_reading_is_closed_as_slow_and_memory_stays_bounded() {
    let data_dir = DataDir::new("slow-consumer");
    let server = start(
        &data_dir,
        &[&LOCAL[..], &["--stream-write-timeout-seconds", "3"]].concat(),
        &[],
    );
    let pid = server.child.id();
    let addr = server.client_addr();
    let api = api::Client::new(&format!("http://{addr}"), WAIT).expect("client");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let baseline = resident_bytes(pid);

    runtime.block_on(async {
        tracing::info!(
            baseline,
            "arrange: a topic bounded to 8 MiB, a stream with credit that never reads"
        );
        let bounded = CreateTopicRequest {
            retention: Some(RetentionSpec {
                max_bytes_per_partition: Some(TOPIC_BOUND),
                ..RetentionSpec::default()
            }),
            ..CreateTopicRequest::default()
        };
        api.create_topic("firehose", &bounded).await.expect("topic");
        api.create_subscription("slow", &subscription("firehose"))
            .await
            .expect("subscription");
        let url = format!("ws://{addr}/v1/subscriptions/slow:stream");
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        socket
            .send(WsMessage::text(format!(
                r#"{{"type":"credit","messages":{CREDIT}}}"#
            )))
            .await
            .expect("credit");

        tracing::info!("act: publish 192 MiB of 64 KiB messages while the consumer reads nothing");
        let publisher = tokio::spawn(async move {
            let mut peak = baseline;
            for batch in 0..MESSAGES / 16 {
                let messages = (0..16)
                    .map(|i| PublishMessage {
                        data: vec![b'0' + ((batch + i) % 10) as u8; MESSAGE_BYTES].into(),
                        ..PublishMessage::default()
                    })
                    .collect();
                publish(&api, "firehose", messages)
                    .await
                    .expect("publish keeps working");
                peak = peak.max(resident_bytes(pid));
            }
            peak
        });
        server.wait_for_log(
            "closing a slow consumer: the client took no frame within the write timeout",
        );

        tracing::info!("assert: the client finds the frames it was sent, then 1008");
        let mut delivered = 0;
        let close = loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
                .await
                .expect("a frame, or the close, within the wait")
                .expect("the close frame before the end")
                .expect("frame");
            match frame {
                WsMessage::Text(_) => delivered += 1,
                WsMessage::Close(close) => break close.expect("a close reason"),
                _ => {}
            }
        };
        assert!(
            delivered <= CREDIT as usize,
            "credit bounds what was sent: {delivered}"
        );
        assert_eq!(close.code, CloseCode::Policy);
        assert!(
            close.reason.starts_with("slow consumer"),
            "{}",
            close.reason
        );

        tracing::info!("assert: memory stayed bounded while everything was published");
        let peak = publisher.await.expect("publisher");
        assert!(
            peak <= baseline + GROWTH,
            "resident memory {peak} grew past {baseline} at start + {GROWTH}"
        );
    });
}

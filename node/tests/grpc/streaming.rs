//! StreamingPull: flow control whose credit comes back through unary acks
//! (as Google's Python and Go clients ack), acks on the stream, heartbeats,
//! and the end of a stream when the server shuts down.

use std::time::Duration;

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    AcknowledgeRequest, StreamingPullRequest, StreamingPullResponse, Subscription,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Streaming};

use crate::google_server::GoogleServer;

const WAIT: Duration = Duration::from_secs(10);

/// Opens a stream with `first`; returns the request sender and the responses.
async fn open(
    server: &mut GoogleServer,
    first: StreamingPullRequest,
) -> (
    mpsc::Sender<StreamingPullRequest>,
    Streaming<StreamingPullResponse>,
) {
    let (tx, rx) = mpsc::channel(4);
    tx.send(first).await.expect("first request");
    let responses = server
        .subscriber
        .streaming_pull(ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    (tx, responses)
}

/// The next response that carries messages (skipping heartbeat answers).
async fn next_messages(responses: &mut Streaming<StreamingPullResponse>) -> StreamingPullResponse {
    loop {
        let response = tokio::time::timeout(WAIT, responses.message())
            .await
            .expect("a response in time")
            .expect("stream open")
            .expect("not ended");
        if !response.received_messages.is_empty() {
            return response;
        }
    }
}

#[test_log::test(tokio::test)]
async fn a_unary_ack_frees_the_streams_credit() {
    let mut server = GoogleServer::start().await;
    let ordered = Subscription {
        enable_message_ordering: true,
        ..Subscription::default()
    };
    let sub = server.topic_and_subscription("orders", ordered).await;
    server.publish("orders", &["a", "b"]).await;

    tracing::info!("act: a stream allowed one outstanding message");
    let (requests, mut responses) = open(
        &mut server,
        StreamingPullRequest {
            subscription: sub.clone(),
            stream_ack_deadline_seconds: 60,
            max_outstanding_messages: 1,
            protocol_version: 1,
            ..StreamingPullRequest::default()
        },
    )
    .await;
    let first = next_messages(&mut responses).await;
    assert_eq!(first.received_messages.len(), 1);
    let properties = first.subscription_properties.expect("properties");
    assert!(properties.message_ordering_enabled && !properties.exactly_once_delivery_enabled);

    tracing::info!("assert: a heartbeat is answered, with no message while the credit is used");
    requests
        .send(StreamingPullRequest::default())
        .await
        .expect("heartbeat");
    let answer = tokio::time::timeout(WAIT, responses.message())
        .await
        .expect("heartbeat answered")
        .expect("stream open")
        .expect("not ended");
    assert!(answer.received_messages.is_empty());

    tracing::info!("act: ack the first by a unary call; assert: the second comes");
    server
        .subscriber
        .acknowledge(AcknowledgeRequest {
            subscription: sub,
            ack_ids: vec![first.received_messages[0].ack_id.clone()],
        })
        .await
        .expect("ack");
    let second = next_messages(&mut responses).await;
    assert_ne!(
        second.received_messages[0].message,
        first.received_messages[0].message
    );
    drop(requests);
}

#[test_log::test(tokio::test)]
async fn streams_end_unavailable_on_shutdown_so_clients_reopen_them() {
    let mut server = GoogleServer::start().await;
    let sub = server
        .topic_and_subscription("orders", Subscription::default())
        .await;
    let missing = server
        .subscriber
        .streaming_pull(tokio_stream::iter([StreamingPullRequest {
            subscription: "projects/p/subscriptions/missing".to_owned(),
            stream_ack_deadline_seconds: 10,
            ..StreamingPullRequest::default()
        }]))
        .await
        .expect_err("missing subscription");
    assert_eq!(missing.code(), Code::NotFound);

    let (_requests, mut responses) = open(
        &mut server,
        StreamingPullRequest {
            subscription: sub,
            stream_ack_deadline_seconds: 10,
            ..StreamingPullRequest::default()
        },
    )
    .await;
    server.broker.shutdown.cancel();
    let ended = loop {
        match tokio::time::timeout(WAIT, responses.message())
            .await
            .expect("the stream ends in time")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    tokio::time::timeout(WAIT, server.served)
        .await
        .expect("the listener stops")
        .expect("joined")
        .expect("served");
}

#[test_log::test(tokio::test)]
async fn acks_on_the_stream_are_confirmed_under_exactly_once() {
    let mut server = GoogleServer::start().await;
    let sub = server.exactly_once("orders", "a").await;
    let (requests, mut responses) = open(
        &mut server,
        StreamingPullRequest {
            subscription: sub,
            stream_ack_deadline_seconds: 60,
            ..StreamingPullRequest::default()
        },
    )
    .await;
    let delivered = next_messages(&mut responses).await;
    let properties = delivered.subscription_properties.expect("properties");
    assert!(properties.exactly_once_delivery_enabled);

    tracing::info!("act: ack on the stream; assert: the ack is confirmed on the stream");
    let ack_id = delivered.received_messages[0].ack_id.clone();
    requests
        .send(StreamingPullRequest {
            ack_ids: vec![ack_id.clone()],
            ..StreamingPullRequest::default()
        })
        .await
        .expect("ack on the stream");
    let confirmed = tokio::time::timeout(WAIT, responses.message())
        .await
        .expect("a confirmation in time")
        .expect("stream open")
        .expect("not ended")
        .acknowledge_confirmation
        .expect("an ack confirmation");
    assert_eq!(confirmed.ack_ids, [ack_id]);
    assert!(confirmed.invalid_ack_ids.is_empty());
}

//! Publish, Pull, Acknowledge, ModifyAckDeadline and Seek through Google's
//! API, and the errors Google's clients rely on.

#![expect(
    deprecated,
    reason = "Google deprecated PullRequest.return_immediately, yet clients still send it"
)]

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    AcknowledgeRequest, DeadLetterPolicy, ModifyAckDeadlineRequest, PullRequest, ReceivedMessage,
    SeekRequest, Subscription, seek_request,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::google_server::{GoogleServer, topic_path};

async fn pull(server: &mut GoogleServer, sub: &str, max: i32) -> Vec<ReceivedMessage> {
    server
        .subscriber
        .pull(PullRequest {
            subscription: sub.to_owned(),
            max_messages: max,
            return_immediately: true,
        })
        .await
        .expect("pull")
        .into_inner()
        .received_messages
}

fn ack_ids(messages: &[ReceivedMessage]) -> Vec<String> {
    messages.iter().map(|m| m.ack_id.clone()).collect()
}

#[test_log::test(tokio::test)]
async fn pull_ack_nack_and_seek_to_a_time() {
    let mut server = GoogleServer::start().await;
    let sub = server
        .topic_and_subscription("orders", Subscription::default())
        .await;
    tracing::info!("arrange: three published messages");
    let ids = server.publish("orders", &["a", "b", "c"]).await;
    assert_eq!(ids.len(), 3);

    tracing::info!("act: pull them, nack one with deadline 0, ack the others");
    let first = pull(&mut server, &sub, 10).await;
    assert_eq!(first.len(), 3);
    let message = first[0].message.as_ref().expect("message");
    assert!(ids.contains(&message.message_id));
    assert!(message.publish_time.is_some());
    assert_eq!(
        first[0].delivery_attempt, 0,
        "only with a dead-letter policy"
    );
    server
        .subscriber
        .modify_ack_deadline(ModifyAckDeadlineRequest {
            subscription: sub.clone(),
            ack_ids: vec![first[0].ack_id.clone()],
            ack_deadline_seconds: 0,
        })
        .await
        .expect("nack");
    server
        .subscriber
        .acknowledge(AcknowledgeRequest {
            subscription: sub.clone(),
            ack_ids: ack_ids(&first[1..]),
        })
        .await
        .expect("ack");

    tracing::info!("assert: only the nacked one comes again; after its ack, nothing");
    let again = pull(&mut server, &sub, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message, first[0].message);
    server
        .subscriber
        .acknowledge(AcknowledgeRequest {
            subscription: sub.clone(),
            ack_ids: ack_ids(&again),
        })
        .await
        .expect("ack");
    assert!(pull(&mut server, &sub, 10).await.is_empty());

    tracing::info!("act and assert: seek to before the first publish replays all three");
    let mut time = message.publish_time.expect("publish time");
    time.seconds -= 1;
    server
        .subscriber
        .seek(SeekRequest {
            subscription: sub.clone(),
            target: Some(seek_request::Target::Time(time)),
        })
        .await
        .expect("seek");
    assert_eq!(pull(&mut server, &sub, 10).await.len(), 3);
    let snapshot = server
        .subscriber
        .seek(SeekRequest {
            subscription: sub,
            target: Some(seek_request::Target::Snapshot(
                "projects/p/snapshots/s".to_owned(),
            )),
        })
        .await
        .expect_err("snapshots");
    assert_eq!(snapshot.code(), Code::Unimplemented);
}

#[test_log::test(tokio::test)]
async fn a_stale_ack_under_exactly_once_is_an_invalid_argument_naming_the_ack_id() {
    let mut server = GoogleServer::start().await;
    let sub = server.exactly_once("orders", "a").await;
    let stale = pull(&mut server, &sub, 1).await;
    server
        .subscriber
        .modify_ack_deadline(ModifyAckDeadlineRequest {
            subscription: sub.clone(),
            ack_ids: ack_ids(&stale),
            ack_deadline_seconds: 0,
        })
        .await
        .expect("nack");
    let fresh = pull(&mut server, &sub, 1).await;
    assert_eq!(fresh.len(), 1, "redelivered after the nack");

    let error = server
        .subscriber
        .acknowledge(AcknowledgeRequest {
            subscription: sub.clone(),
            ack_ids: ack_ids(&stale),
        })
        .await
        .expect_err("stale ack id");
    assert_eq!(error.code(), Code::InvalidArgument);
    let info = error.get_details_error_info().expect("ErrorInfo detail");
    assert_eq!(info.reason, "EXACTLY_ONCE_ACKID_FAILURE");
    assert_eq!(
        info.metadata.get(&stale[0].ack_id).map(String::as_str),
        Some("PERMANENT_FAILURE_INVALID_ACK_ID")
    );
    server
        .subscriber
        .acknowledge(AcknowledgeRequest {
            subscription: sub,
            ack_ids: ack_ids(&fresh),
        })
        .await
        .expect("the fresh ack id");
}

#[test_log::test(tokio::test)]
async fn delivery_attempts_count_under_a_dead_letter_policy_and_errors_keep_their_codes() {
    let mut server = GoogleServer::start().await;
    server.create_topic("dead").await;
    let counted = Subscription {
        dead_letter_policy: Some(DeadLetterPolicy {
            dead_letter_topic: topic_path("dead"),
            max_delivery_attempts: 5,
        }),
        ..Subscription::default()
    };
    let sub = server.topic_and_subscription("orders", counted).await;
    server.publish("orders", &["a"]).await;
    for attempt in 1..=2 {
        let got = pull(&mut server, &sub, 1).await;
        assert_eq!(got[0].delivery_attempt, attempt);
        server
            .subscriber
            .modify_ack_deadline(ModifyAckDeadlineRequest {
                subscription: sub.clone(),
                ack_ids: ack_ids(&got),
                ack_deadline_seconds: 0,
            })
            .await
            .expect("nack");
    }

    let codes = [
        (
            server
                .subscriber
                .pull(PullRequest {
                    subscription: sub.clone(),
                    max_messages: 0,
                    return_immediately: true,
                })
                .await,
            Code::InvalidArgument,
        ),
        (
            server
                .subscriber
                .modify_ack_deadline(ModifyAckDeadlineRequest {
                    subscription: sub.clone(),
                    ack_ids: vec!["0.0.1.1".to_owned()],
                    ack_deadline_seconds: 601,
                })
                .await
                .map(|_| tonic::Response::new(Default::default())),
            Code::InvalidArgument,
        ),
        (
            server
                .subscriber
                .pull(PullRequest {
                    subscription: "projects/p/subscriptions/missing".to_owned(),
                    max_messages: 1,
                    return_immediately: true,
                })
                .await,
            Code::NotFound,
        ),
    ];
    for (result, code) in codes {
        let error = result.expect_err("an error");
        assert_eq!(error.code(), code, "{error:?}");
    }
}

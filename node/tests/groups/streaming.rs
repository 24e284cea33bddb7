//! A member streams over `:stream` with its member id: only its partitions,
//! and its partition count grows when another member leaves, until it leaves
//! itself and the stream ends with `UNKNOWN_MEMBER`.

use api::frames::ServerFrame;
use api::types::{CreateSubscriptionRequest, JoinGroupRequest, PullRequest, SubscriptionType};
use api::{Client, ErrorCode};
use node::TestNode;
use testkit::client::{connect, keyed, next_frame, publish, subscription, topic};

use crate::members::{SUB, TOPIC, key_for};

/// Publishes `text` with a key that lands on `partition`.
async fn publish_to(client: &Client, partition: u32, partitions: u32, text: &str) {
    publish(
        client,
        TOPIC,
        vec![keyed(text, &key_for(partition, partitions))],
    )
    .await
    .expect("publish");
}

#[test_log::test(tokio::test)]
async fn a_member_streams_only_its_partitions_until_it_leaves() {
    const PARTITIONS: u32 = 2;
    let node = TestNode::start().await.expect("server");
    let client = connect(&node.url);
    client
        .create_topic(TOPIC, &topic(PARTITIONS))
        .await
        .expect("topic");
    let sub = CreateSubscriptionRequest {
        kind: Some(SubscriptionType::Partitioned),
        ack_deadline_seconds: Some(60),
        ..subscription(TOPIC)
    };
    client.create_subscription(SUB, &sub).await.expect("sub");

    tracing::info!("arrange: a and b join; each owns one partition");
    let a = client
        .join_group(SUB, &JoinGroupRequest::default())
        .await
        .expect("a joins");
    let b = client
        .join_group(SUB, &JoinGroupRequest::default())
        .await
        .expect("b joins");
    let a_now = client
        .heartbeat(SUB, &a.member_id, a.generation)
        .await
        .expect("a heartbeat");
    assert_eq!(a_now.generation, b.generation);
    let (pa, pb) = (a_now.partitions[0], b.partitions[0]);
    assert_ne!(pa, pb);

    tracing::info!("a stream without memberId on a partitioned subscription is refused");
    assert!(client.stream(SUB).await.is_err());

    tracing::info!("act: a streams; one message lands on each partition");
    let mut stream = client
        .stream_as_member(SUB, &a.member_id)
        .await
        .expect("a streams");
    stream.credit(10).await.expect("credit");
    publish_to(&client, pb, PARTITIONS, "for b").await;
    publish_to(&client, pa, PARTITIONS, "for a").await;
    let ServerFrame::Message {
        ack_id,
        message,
        generation,
        ..
    } = next_frame(&mut stream).await
    else {
        panic!("expected a message");
    };
    assert_eq!((message.partition, generation), (pa, Some(b.generation)));
    assert_eq!(message.data.0.as_ref(), b"for a");
    stream.ack(vec![ack_id]).await.expect("ack");

    tracing::info!("assert: b's message was left for b");
    let pulled = client
        .pull(
            SUB,
            &PullRequest {
                member_id: Some(b.member_id.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("b pulls");
    assert_eq!(pulled.received_messages.len(), 1);
    assert_eq!(pulled.received_messages[0].message.partition, pb);
    assert_eq!(pulled.received_messages[0].generation, Some(b.generation));
    client
        .acknowledge(SUB, vec![pulled.received_messages[0].ack_id.clone()])
        .await
        .expect("ack");

    tracing::info!("act: b leaves; a's stream now gets b's partition in a new generation");
    client
        .leave_group(SUB, &b.member_id)
        .await
        .expect("b leaves");
    publish_to(&client, pb, PARTITIONS, "after b left").await;
    let ServerFrame::Message {
        message,
        generation,
        ..
    } = next_frame(&mut stream).await
    else {
        panic!("expected a message");
    };
    assert_eq!(message.partition, pb);
    assert!(generation.is_some_and(|g| g > b.generation));

    tracing::info!("act: a leaves; its stream ends with UNKNOWN_MEMBER");
    client
        .leave_group(SUB, &a.member_id)
        .await
        .expect("a leaves");
    match next_frame(&mut stream).await {
        ServerFrame::Error { problem } => assert_eq!(problem.code, ErrorCode::UnknownMember),
        other => panic!("expected an error frame, got {other:?}"),
    }
    node.stop().await;
}

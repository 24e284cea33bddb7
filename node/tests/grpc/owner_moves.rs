//! A StreamingPull on a node of a 3-node cluster that does not own the
//! topic's partition: it delivers (through the owner), and it ends with
//! `UNAVAILABLE` once the partition changes owner (here: the owner is marked
//! down, as the failure detector or a drain does), so Google's clients open
//! it again (on the new owner's epoch).

use std::time::Duration;

use cluster::{Command, NodeId};
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::StreamingPullRequest;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::subscriber_client::SubscriberClient;
use node::security::ClientSecurity;
use testkit::client::{publish, subscription, text, topic};
use testkit::{Storage, TestCluster, wait_for};
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Endpoint;

use crate::google_server::subscription_path;

const WAIT: Duration = Duration::from_secs(15);

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_stream_ends_unavailable_when_its_partition_changes_owner() -> anyhow::Result<()> {
    tracing::info!("arrange: three nodes; a topic whose partition one of them owns");
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    let rest = cluster.client(1);
    wait_for("three live nodes", WAIT, || async {
        let status = rest.cluster_status().await.ok()?;
        (status.nodes.iter().filter(|n| n.live).count() == 3).then_some(())
    })
    .await?;
    rest.create_topic("moving", &topic(1)).await?;
    rest.create_subscription("moving-sub", &subscription("moving"))
        .await?;
    let status = rest.cluster_status().await?;
    let owner = status
        .partitions
        .iter()
        .find(|p| p.topic == "moving")
        .and_then(|p| p.node)
        .expect("an owner");
    let via = (1..=3).find(|id| *id != owner).expect("another node");
    tracing::info!(
        owner,
        via,
        "the stream goes through a node that does not own the partition"
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let broker = cluster.node(via).broker.clone();
    tokio::spawn(node::grpc::serve(
        listener,
        broker,
        ClientSecurity::default(),
    ));
    let channel = Endpoint::from_shared(url)?.connect().await?;
    let mut subscriber = SubscriberClient::new(channel);
    let (requests, rx) = tokio::sync::mpsc::channel(1);
    requests
        .send(StreamingPullRequest {
            subscription: subscription_path("moving-sub"),
            stream_ack_deadline_seconds: 60,
            ..StreamingPullRequest::default()
        })
        .await?;
    let mut responses = subscriber
        .streaming_pull(ReceiverStream::new(rx))
        .await?
        .into_inner();
    publish(
        &cluster.client(via),
        "moving",
        vec![text("before the move")],
    )
    .await?;
    let delivered = loop {
        let response = tokio::time::timeout(WAIT, responses.message())
            .await?
            .expect("the stream is open")
            .expect("not ended");
        if !response.received_messages.is_empty() {
            break response;
        }
    };
    assert_eq!(
        delivered.received_messages[0]
            .message
            .as_ref()
            .map(|m| m.data.as_slice()),
        Some(b"before the move".as_slice())
    );

    tracing::info!("act: the owner is marked down, which moves its partitions");
    // The owner keeps running and serving its storage, so nothing but the
    // change of owner can end the stream.
    let down = Command::SetNodeLive {
        id: NodeId::new(owner),
        live: false,
    };
    cluster
        .node(via)
        .broker
        .metadata
        .store()
        .propose(down)
        .await?;

    tracing::info!("assert: the stream ends with UNAVAILABLE");
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match responses.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream ended without a status"),
                Err(status) => break status,
            }
        }
    })
    .await
    .expect("the stream ends in time");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("changed owner"), "{ended:?}");
    drop(requests);
    cluster.shutdown().await;
    Ok(())
}

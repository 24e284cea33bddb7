//! Ack ids through a node that has not heard of the partition's new owner:
//! they name a newer owner epoch than the node knows, so it must learn the
//! metadata before judging them (or answer `503`), never call a current
//! delivery stale.

use std::time::Duration;

use api::ErrorCode;
use api::client::ClientError;
use api::types::{
    CreateSubscriptionRequest, DeliveryMode, NackRequest, PublishMessage, PullRequest,
    StartPosition,
};
use cluster::partitioning::partition_for_key;
use testkit::client::{publish, subscription, text};
use testkit::{Fault, Storage, TestCluster, wait_for};

use crate::support::{all_registered, create_topic, owners};

const PARTITIONS: u32 = 12;

/// The API code of a failed call, `None` when it succeeded.
fn code<T>(result: &Result<T, ClientError>) -> Option<ErrorCode> {
    result
        .as_ref()
        .err()
        .and_then(|e| e.problem().map(|p| p.code))
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn an_ack_id_from_an_owner_the_node_has_not_heard_of_is_unavailable_there_not_expired()
-> anyhow::Result<()> {
    let cluster = TestCluster::start_behind_proxies(3, Storage::Memory).await?;
    all_registered(&cluster).await?;
    let leader = wait_for("a leader", Duration::from_secs(10), || async {
        cluster.leader()
    })
    .await?;
    let via_leader = cluster.client(leader);
    create_topic(&via_leader, "epochs", PARTITIONS).await?;
    let request = CreateSubscriptionRequest {
        start_position: Some(StartPosition::Earliest),
        delivery_mode: Some(DeliveryMode::ExactlyOnce),
        ..subscription("epochs")
    };
    via_leader
        .create_subscription("epochs-sub", &request)
        .await?;
    // A follower that owns a partition (12 partitions over 3 nodes: one does).
    let placed = owners(&cluster, leader, "epochs");
    let owned_by =
        |id: u64| (0..PARTITIONS).find(|&p| placed[p as usize].is_some_and(|o| o.node.get() == id));
    let (cut, partition) = (1..=3)
        .filter(|&id| id != leader)
        .find_map(|id| owned_by(id).map(|p| (id, p)))
        .expect("a follower owns a partition");
    let old_epoch = placed[partition as usize].expect("owned").epoch;
    let via_cut = cluster.client(cut);

    tracing::info!(
        cut,
        partition,
        "arrange: cut the owner off; its partition moves without it knowing"
    );
    cluster.cut_peers(cut, Fault::Reset);
    wait_for("the partition to move", Duration::from_secs(20), || async {
        owners(&cluster, leader, "epochs")[partition as usize]
            .filter(|o| o.epoch > old_epoch && o.node.get() != cut)
            .map(|_| ())
    })
    .await?;
    let key = (0..)
        .map(|i| format!("key-{i}"))
        .find(|k| partition_for_key(k, PARTITIONS) == partition)
        .expect("a key for the partition");
    let message = PublishMessage {
        ordering_key: Some(key),
        ..text("moved")
    };
    wait_for(
        "a publish on the new owner",
        Duration::from_secs(10),
        || async {
            publish(&via_leader, "epochs", vec![message.clone()])
                .await
                .ok()
        },
    )
    .await?;
    let pull = PullRequest {
        max_messages: Some(10),
        wait_seconds: Some(1),
        ..PullRequest::default()
    };
    let ack_id = wait_for(
        "the message from the new owner",
        Duration::from_secs(10),
        || async {
            let got = via_leader
                .pull("epochs-sub", &pull)
                .await
                .ok()?
                .received_messages;
            got.into_iter()
                .find(|m| m.message.partition == partition)
                .map(|m| m.ack_id)
        },
    )
    .await?;

    tracing::info!(ack_id, "act: settle the delivery through the cut-off node");
    let acked = via_cut
        .acknowledge("epochs-sub", vec![ack_id.clone()])
        .await;
    let extended = via_cut
        .modify_ack_deadline("epochs-sub", vec![ack_id.clone()], 60)
        .await;
    let nack = NackRequest {
        ack_ids: vec![ack_id.clone()],
        delay_seconds: Some(0),
        ..NackRequest::default()
    };
    let nacked = via_cut.nack_with("epochs-sub", &nack).await;

    tracing::info!("assert: each is unavailable (retry), none expired or silently dropped");
    assert_eq!(code(&acked), Some(ErrorCode::Unavailable), "ack: {acked:?}");
    assert_eq!(
        code(&extended),
        Some(ErrorCode::Unavailable),
        "extend: {extended:?}"
    );
    assert_eq!(
        code(&nacked),
        Some(ErrorCode::Unavailable),
        "nack: {nacked:?}"
    );

    tracing::info!("act: heal; assert: the same ack through the same node acks it");
    cluster.heal_peers();
    wait_for(
        "the deadline extended through the healed node",
        Duration::from_secs(30),
        || async {
            let extended = via_cut
                .modify_ack_deadline("epochs-sub", vec![ack_id.clone()], 60)
                .await;
            match code(&extended) {
                None => Some(()),
                Some(ErrorCode::Unavailable) => None,
                Some(other) => panic!("after the heal: {other:?} ({extended:?})"),
            }
        },
    )
    .await?;
    via_cut.acknowledge("epochs-sub", vec![ack_id]).await?;
    cluster.shutdown().await;
    Ok(())
}

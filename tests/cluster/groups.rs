//! Consumer groups across nodes: a member that joined through one node is
//! known by every other at once, and a node that cannot tell (cut off from
//! its peers) answers `503 UNAVAILABLE`, never `UNKNOWN_MEMBER`.

use std::time::Duration;

use api::ErrorCode;
use api::client::{Client, ClientError};
use api::types::{
    CreateSubscriptionRequest, JoinGroupRequest, JoinGroupResponse, PullRequest, SubscriptionType,
};
use testkit::{Fault, Storage, TestCluster, wait_for};

use crate::support::create_topic;

const PARTITIONS: u32 = 3;

/// A partitioned subscription `name` on a fresh topic of its own.
async fn partitioned(client: &Client, name: &str) -> anyhow::Result<()> {
    let topic = format!("{name}-topic");
    create_topic(client, &topic, PARTITIONS).await?;
    let request = CreateSubscriptionRequest {
        topic,
        kind: Some(SubscriptionType::Partitioned),
        ..CreateSubscriptionRequest::default()
    };
    client.create_subscription(name, &request).await?;
    Ok(())
}

/// Pulls once, without waiting, as `member`.
async fn pull_as(client: &Client, sub: &str, member: &str) -> Result<(), ClientError> {
    let request = PullRequest {
        max_messages: Some(10),
        wait_seconds: Some(0),
        member_id: Some(member.to_owned()),
    };
    client.pull(sub, &request).await.map(|_| ())
}

/// A join that keeps the member for the whole test unless it leaves.
async fn join(client: &Client, sub: &str) -> anyhow::Result<JoinGroupResponse> {
    let request = JoinGroupRequest {
        session_timeout_seconds: Some(120),
    };
    Ok(client.join_group(sub, &request).await?)
}

/// The API code of a failed call, `None` when it succeeded.
fn code<T>(result: &Result<T, ClientError>) -> Option<ErrorCode> {
    result.as_ref().err().map(|e| match e.problem() {
        Some(problem) => problem.code,
        None => panic!("not an API answer: {e}"),
    })
}

/// The HTTP status a refused `:stream` upgrade answered, if it was refused.
fn stream_status<T>(opened: &Result<T, ClientError>) -> Option<u16> {
    use tokio_tungstenite::tungstenite::Error;
    match opened {
        Ok(_) => None,
        Err(ClientError::WebSocket(e)) => match &**e {
            Error::Http(response) => Some(response.status().as_u16()),
            other => panic!("the stream failed otherwise: {other}"),
        },
        Err(other) => panic!("the stream failed otherwise: {other}"),
    }
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_member_that_joined_through_one_node_is_known_at_once_by_the_others() -> anyhow::Result<()>
{
    const ROUNDS: usize = 1_000;
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    let leader = wait_for("a leader", Duration::from_secs(10), || async {
        cluster.leader()
    })
    .await?;
    // Joins go through a follower; the leader and the other follower pull:
    // the follower's metadata trails the leader's by up to a heartbeat.
    let others: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    let (a, b, c) = (others[0], leader, others[1]);
    let (via_a, via_b, via_c) = (cluster.client(a), cluster.client(b), cluster.client(c));
    partitioned(&via_a, "fresh-members").await?;

    tracing::info!(
        a,
        b,
        c,
        ROUNDS,
        "act: join through a, at once pull and heartbeat through b and c"
    );
    let mut unknown = 0;
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let member = join(&via_a, "fresh-members").await?;
        let id = member.member_id.as_str();
        let (pull_b, pull_c, beat_b, beat_c) = tokio::join!(
            pull_as(&via_b, "fresh-members", id),
            pull_as(&via_c, "fresh-members", id),
            via_b.heartbeat("fresh-members", id, member.generation),
            via_c.heartbeat("fresh-members", id, member.generation),
        );
        for answer in [code(&pull_b), code(&pull_c), code(&beat_b), code(&beat_c)]
            .into_iter()
            .flatten()
        {
            if answer == ErrorCode::UnknownMember {
                unknown += 1;
            } else {
                failures.push((round, answer));
            }
        }
        // One member at a time: the group stays small whatever ROUNDS is.
        via_a.leave_group("fresh-members", id).await?;
    }

    tracing::info!(
        unknown,
        "assert: no member was unknown, and nothing else failed"
    );
    assert_eq!(unknown, 0, "UNKNOWN_MEMBER answers in {ROUNDS} rounds");
    assert!(failures.is_empty(), "other failures: {failures:?}");
    cluster.shutdown().await;
    Ok(())
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn group_calls_through_a_node_cut_off_from_its_peers_answer_503_until_healed()
-> anyhow::Result<()> {
    let cluster = TestCluster::start_behind_proxies(3, Storage::Memory).await?;
    let leader = wait_for("a leader", Duration::from_secs(10), || async {
        cluster.leader()
    })
    .await?;
    let cut = (1..=3).find(|&id| id != leader).expect("a follower");
    let (via_leader, via_cut) = (cluster.client(leader), cluster.client(cut));
    partitioned(&via_leader, "cut-members").await?;
    let before = join(&via_leader, "cut-members").await?;
    pull_as(&via_cut, "cut-members", &before.member_id).await?;

    tracing::info!(
        cut,
        "act: cut the node's peer traffic; a member joins elsewhere"
    );
    cluster.cut_peers(cut, Fault::Reset);
    let after = join(&via_leader, "cut-members").await?;
    let after_id = after.member_id.as_str();

    tracing::info!("assert: through the cut node, the new member is unavailable, not unknown");
    let pulled = pull_as(&via_cut, "cut-members", after_id).await;
    assert_eq!(
        code(&pulled),
        Some(ErrorCode::Unavailable),
        "pull: {pulled:?}"
    );
    // A heartbeat forwarded on a connection the cut then reset may have
    // reached the leader too: unknown (504) then, never a definite 503.
    let beat = via_cut
        .heartbeat("cut-members", after_id, after.generation)
        .await;
    assert!(
        matches!(
            code(&beat),
            Some(ErrorCode::Unavailable | ErrorCode::OutcomeUnknown)
        ),
        "heartbeat: {beat:?}"
    );
    let stream = via_cut.stream_as_member("cut-members", after_id).await;
    assert_eq!(stream_status(&stream), Some(503), "stream");
    // A leave forwarded on a connection the cut then reset may have reached
    // the leader: its outcome is unknown (504), and a retry is safe.
    let left = via_cut.leave_group("cut-members", after_id).await;
    assert!(
        matches!(
            code(&left),
            Some(ErrorCode::Unavailable | ErrorCode::OutcomeUnknown)
        ),
        "leave: {left:?}"
    );
    tracing::info!("assert: the member from before the cut is never called unknown either");
    let beat = via_cut
        .heartbeat("cut-members", &before.member_id, before.generation)
        .await;
    assert!(
        matches!(
            code(&beat),
            Some(ErrorCode::Unavailable | ErrorCode::OutcomeUnknown)
        ),
        "heartbeat: {beat:?}"
    );
    let pulled = pull_as(&via_cut, "cut-members", &before.member_id).await;
    assert_ne!(code(&pulled), Some(ErrorCode::UnknownMember), "{pulled:?}");

    tracing::info!("act: heal; assert: the same calls through the same node succeed");
    cluster.heal_peers();
    wait_for(
        "a pull as the new member through the healed node",
        Duration::from_secs(30),
        || async {
            let pulled = pull_as(&via_cut, "cut-members", after_id).await;
            match code(&pulled) {
                None => Some(()),
                Some(ErrorCode::Unavailable) => None,
                Some(other) => panic!("after the heal: {other:?} ({pulled:?})"),
            }
        },
    )
    .await?;
    via_cut
        .heartbeat("cut-members", after_id, after.generation)
        .await?;
    via_cut
        .heartbeat("cut-members", &before.member_id, before.generation)
        .await?;
    via_cut
        .stream_as_member("cut-members", after_id)
        .await?
        .close()
        .await?;
    via_cut.leave_group("cut-members", after_id).await?;
    cluster.shutdown().await;
    Ok(())
}

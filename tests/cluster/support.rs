//! Small client-side steps the scenarios share.

use std::collections::BTreeSet;
use std::time::Duration;

use api::client::{Client, ClientError};
use api::types::PullRequest;
use cluster::{NodeId, PartitionOwner, TopicName};
use testkit::client::{publish, subscription, text, topic};
use testkit::{TestCluster, wait_for};

pub async fn create_topic(client: &Client, name: &str, partitions: u32) -> anyhow::Result<()> {
    client.create_topic(name, &topic(partitions)).await?;
    Ok(())
}

pub async fn create_subscription(client: &Client, name: &str, topic: &str) -> anyhow::Result<()> {
    client
        .create_subscription(name, &subscription(topic))
        .await?;
    Ok(())
}

/// Publishes one message with `data`; `Ok(false)` when it may be retried: a
/// 503 (surely not stored) or a lost connection (not known; a retry may
/// store it twice, which the scenarios' sets of payloads absorb).
pub async fn publish_one(client: &Client, topic: &str, data: &str) -> anyhow::Result<bool> {
    match publish(client, topic, vec![text(data)]).await {
        Ok(_) => Ok(true),
        Err(ClientError::Api(problem)) if problem.status == 503 => Ok(false),
        Err(ClientError::Transport { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Pulls and acks until `expected` distinct payloads arrived or `within`
/// passed; returns every distinct payload seen.
pub async fn drain(
    client: &Client,
    subscription: &str,
    expected: usize,
    within: Duration,
) -> anyhow::Result<BTreeSet<String>> {
    drain_while(client, subscription, within, |seen| seen.len() < expected).await
}

/// Pulls and acks until every payload of `expected` arrived (others may too)
/// or `within` passed; returns every distinct payload seen.
pub async fn drain_all(
    client: &Client,
    subscription: &str,
    expected: &BTreeSet<String>,
    within: Duration,
) -> anyhow::Result<BTreeSet<String>> {
    drain_while(client, subscription, within, |seen| {
        !seen.is_superset(expected)
    })
    .await
}

/// Pulls through `client` until every payload of `expected` arrived, and
/// fails naming those that did not within `within`.
pub async fn assert_all_delivered(
    client: &Client,
    subscription: &str,
    expected: &BTreeSet<String>,
    within: Duration,
) -> anyhow::Result<()> {
    let got = drain_all(client, subscription, expected, within).await?;
    let lost: Vec<&String> = expected.difference(&got).collect();
    anyhow::ensure!(
        lost.is_empty(),
        "{} acknowledged messages lost: {lost:?}",
        lost.len()
    );
    Ok(())
}

async fn drain_while(
    client: &Client,
    subscription: &str,
    within: Duration,
    more: impl Fn(&BTreeSet<String>) -> bool,
) -> anyhow::Result<BTreeSet<String>> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = BTreeSet::new();
    while more(&seen) && tokio::time::Instant::now() < deadline {
        let request = PullRequest {
            max_messages: Some(500),
            wait_seconds: Some(1),
            ..PullRequest::default()
        };
        let pulled = match client.pull(subscription, &request).await {
            Ok(pulled) => pulled,
            // A partition's owner away and nothing else to deliver: try again.
            Err(e) if e.is_retryable() => continue,
            Err(e) => return Err(e.into()),
        };
        let mut acks = Vec::new();
        for received in pulled.received_messages {
            seen.insert(String::from_utf8_lossy(&received.message.data.0).into_owned());
            acks.push(received.ack_id);
        }
        if !acks.is_empty() {
            client.acknowledge(subscription, acks).await?;
        }
    }
    Ok(seen)
}

/// The owners of a topic's partitions as node `id` has applied them.
pub fn owners(cluster: &TestCluster, id: u64, topic: &str) -> Vec<Option<PartitionOwner>> {
    let topic = TopicName::new(topic).expect("valid topic name");
    cluster.node(id).consensus.read_local(|md| {
        md.placement()
            .owners()
            .find(|(t, _)| **t == topic)
            .map(|(_, owners)| owners.to_vec())
            .unwrap_or_default()
    })
}

/// Whether every running node sees node `id` registered and live.
pub fn live_everywhere(cluster: &TestCluster, id: u64) -> bool {
    cluster.running().into_iter().all(|at| {
        cluster
            .node(at)
            .consensus
            .read_local(|md| md.placement().node(NodeId::new(id)).is_some_and(|n| n.live))
    })
}

/// Waits until every running node sees every running node registered and live.
pub async fn all_registered(cluster: &TestCluster) -> anyhow::Result<()> {
    wait_for(
        "every node registered and live",
        Duration::from_secs(10),
        || async {
            cluster
                .running()
                .iter()
                .all(|&id| live_everywhere(cluster, id))
                .then_some(())
        },
    )
    .await
}

//! Competing pullers over a real server: every message once, each ordering
//! key in publish order, and the metrics that record it.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use api::Client;
use api::types::{CreateSubscriptionRequest, PullRequest};
use node::TestNode;
use testkit::client::{connect, keyed, metrics, publish, subscription, subscription_stats, topic};

/// What the two pullers saw.
#[derive(Default)]
struct Seen {
    /// Message ids leased right now, to catch a message held by both pullers.
    leased: HashSet<String>,
    /// Per ordering key, the sequence numbers in the order they were received.
    per_key: BTreeMap<String, Vec<u32>>,
    total: usize,
}

#[test_log::test(tokio::test)]
async fn competing_pullers_get_every_message_once_in_key_order() {
    let node = TestNode::start().await.expect("server starts");
    let client = connect(&node.url);

    tracing::info!(
        "arrange: 4 partitions, an ordered subscription, 1,000 messages over 10 keys in batches"
    );
    client
        .create_topic("orders", &topic(4))
        .await
        .expect("create topic");
    let sub = CreateSubscriptionRequest {
        ack_deadline_seconds: Some(60),
        enable_message_ordering: Some(true),
        ..subscription("orders")
    };
    client
        .create_subscription("workers", &sub)
        .await
        .expect("create subscription");
    let mut next_seq: BTreeMap<String, u32> = BTreeMap::new();
    for batch in 0..10 {
        let messages = (0..100)
            .map(|i| {
                let key = format!("key-{}", (batch * 100 + i) % 10);
                let seq = next_seq.entry(key.clone()).or_default();
                *seq += 1;
                keyed(&format!("{key}:{seq}"), &key)
            })
            .collect();
        publish(&client, "orders", messages).await.expect("publish");
    }

    tracing::info!("act: two pullers pull, record and ack until all 1,000 are acked");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let pullers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(pull_until_done(client.clone(), seen.clone(), 1000)))
        .collect();
    for puller in pullers {
        puller.await.expect("puller finished");
    }

    tracing::info!("assert: all delivered once, each key in publish order");
    {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.total, 1000, "every message delivered exactly once");
        for (key, seqs) in &seen.per_key {
            let expected: Vec<u32> = (1..=100).collect();
            assert_eq!(seqs, &expected, "order of {key}");
        }
    }
    let stats = subscription_stats(&client, "workers").await;
    assert_eq!((stats.backlog_messages, stats.outstanding_messages), (0, 0));

    tracing::info!("act: one bad ack, so an error is counted");
    let bad = client.acknowledge("workers", vec!["bogus".into()]).await;
    assert_eq!(
        bad.expect_err("bad ack id").problem().map(|p| p.code),
        Some(api::ErrorCode::InvalidAckId)
    );

    tracing::info!("assert: the metrics match what happened");
    let metrics = metrics(&node.metrics_url).await;
    for expected in [
        "pubsubgo_messages_published_total 1000",
        "pubsubgo_messages_consumed_total 1000",
        "pubsubgo_message_latency_seconds_count 1000",
        "pubsubgo_topic_messages_total{topic=\"orders\"} 1000",
        "pubsubgo_messages_redelivered_total 0",
        "pubsubgo_errors_total{code=\"INVALID_ACK_ID\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == expected),
            "missing {expected:?} in\n{metrics}"
        );
    }
    let open_http: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pubsubgo_active_connections_total{transport=\"http\"} "))
        .and_then(|v| v.parse().ok())
        .expect("http connection gauge");
    assert!(
        open_http >= 1,
        "the pullers' pooled connections are still open"
    );
    node.stop().await;
}

async fn pull_until_done(client: Client, seen: Arc<Mutex<Seen>>, expected: usize) {
    loop {
        if seen.lock().expect("lock").total >= expected {
            return;
        }
        let request = PullRequest {
            max_messages: Some(50),
            wait_seconds: Some(1),
            ..Default::default()
        };
        let pulled = client.pull("workers", &request).await.expect("pull");
        let mut ack_ids = Vec::new();
        {
            let mut seen = seen.lock().expect("lock");
            for received in pulled.received_messages {
                let id = received.message.message_id.clone();
                assert!(
                    seen.leased.insert(id.clone()),
                    "{id} leased to both pullers"
                );
                let text = String::from_utf8(received.message.data.0.to_vec()).expect("utf-8");
                let (key, seq) = text.split_once(':').expect("key:seq");
                seen.per_key
                    .entry(key.to_owned())
                    .or_default()
                    .push(seq.parse().expect("number"));
                seen.total += 1;
                ack_ids.push((id, received.ack_id));
            }
        }
        if ack_ids.is_empty() {
            continue;
        }
        // Forget the lease before acking: once acked, the key's next message may
        // go to the other puller at once.
        let ids: Vec<String> = {
            let mut seen = seen.lock().expect("lock");
            ack_ids
                .into_iter()
                .map(|(id, ack)| {
                    seen.leased.remove(&id);
                    ack
                })
                .collect()
        };
        client.acknowledge("workers", ids).await.expect("ack");
    }
}

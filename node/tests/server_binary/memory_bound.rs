//! The memory bound of a real server process on memory storage: publishing
//! until refused gets `429` with `Retry-After` before the process grows past
//! the bound (resident memory read from `/proc`); draining the backlog clears
//! the alarm and publishes succeed again; nothing acknowledged is lost.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use api::types::{
    CreateSubscriptionRequest, PublishRequest, PublishResponse, PullRequest, StartPosition,
};
use base64::Engine;
use testkit::client::{publish, subscription, topic};
use testkit::server_process::{DataDir, WAIT};

use crate::process::{LOCAL, resident_bytes, start};

/// The configured bound.
const BOUND: u64 = 64 * 1024 * 1024;
/// What the process may hold beyond its resident memory at start and the
/// bound, as `docs/overload.md` states it: 48 MiB (request buffers, the
/// runtime's growth under load) plus a quarter of the bound (allocator slack
/// around many small allocations, which the accounting estimates).
const OVERHEAD: u64 = 48 * 1024 * 1024 + BOUND / 4;
const MESSAGE_BYTES: usize = 1024;
const BATCH: usize = 200;

/// One batch of distinct 1 KiB messages, as JSON.
fn batch(first: usize) -> serde_json::Value {
    let messages: Vec<serde_json::Value> = (first..first + BATCH)
        .map(|i| {
            let mut data = format!("{i:08}").into_bytes();
            data.resize(MESSAGE_BYTES, b'x');
            serde_json::json!({ "data": base64::engine::general_purpose::STANDARD.encode(data) })
        })
        .collect();
    serde_json::json!({ "messages": messages })
}

#[test_log::test]
fn publishes_are_refused_before_the_bound_and_accepted_again_once_consumers_drain() {
    let data_dir = DataDir::new("memory-bound");
    let bound = BOUND.to_string();
    let server = start(
        &data_dir,
        &[&LOCAL[..], &["--memory-limit-bytes", &bound]].concat(),
        &[],
    );
    let pid = server.child.id();
    let base = format!("http://{}", server.client_addr());
    let api = api::Client::new(&base, WAIT).expect("client");
    api::tls::install_default_provider();
    let http = reqwest::Client::new();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let baseline = resident_bytes(pid);
    tracing::info!(
        baseline,
        "arrange: a topic and a subscription from the earliest"
    );

    runtime.block_on(async {
        api.create_topic("bounded", &topic(1)).await.expect("topic");
        let from_start = CreateSubscriptionRequest {
            start_position: Some(StartPosition::Earliest),
            ..subscription("bounded")
        };
        api.create_subscription("drain", &from_start)
            .await
            .expect("subscription");

        tracing::info!("act: publish 1 KiB messages until the server refuses");
        let publish_url = format!("{base}/v1/topics/bounded:publish");
        let mut published = BTreeSet::new();
        let mut peak = baseline;
        let refusal = loop {
            let response = http
                .post(&publish_url)
                .json(&batch(published.len()))
                .send()
                .await
                .expect("publish answered");
            peak = peak.max(resident_bytes(pid));
            if response.status() != 200 {
                break response;
            }
            let reply: PublishResponse = response.json().await.expect("publish reply");
            published.extend(reply.message_ids);
            assert!(
                (published.len() * MESSAGE_BYTES) as u64 <= BOUND,
                "{} messages stored and still accepted past the bound",
                published.len()
            );
        };

        tracing::info!(published = published.len(), peak, "assert: 429 with Retry-After, memory within the bound");
        assert_eq!(refusal.status(), 429);
        assert!(refusal.headers().contains_key("retry-after"));
        let problem: api::Problem = refusal.json().await.expect("problem");
        assert_eq!(problem.code, api::ErrorCode::ResourceExhausted);
        assert!(problem.detail.contains("memory alarm"), "{}", problem.detail);
        assert!(
            published.len() * MESSAGE_BYTES > (BOUND / 2) as usize,
            "the alarm rose at its high watermark, not long before: {} messages",
            published.len()
        );
        assert!(
            peak <= baseline + BOUND + OVERHEAD,
            "resident memory {peak} passed {baseline} at start + {BOUND} bound + {OVERHEAD} overhead"
        );
        server.wait_for_log("memory alarm raised: publishes are refused until accounted memory falls below the low watermark");

        tracing::info!("act: pull and ack the whole backlog");
        let mut received = BTreeSet::new();
        while received.len() < published.len() {
            let pulled = api
                .pull(
                    "drain",
                    &PullRequest {
                        max_messages: Some(1000),
                        wait_seconds: Some(1),
                        ..Default::default()
                    },
                )
                .await
                .expect("pull while the alarm is raised")
                .received_messages;
            let ack_ids = pulled.iter().map(|m| m.ack_id.clone()).collect();
            received.extend(pulled.into_iter().map(|m| m.message.message_id));
            api.acknowledge("drain", ack_ids)
                .await
                .expect("ack while the alarm is raised");
        }

        tracing::info!("assert: the alarm clears, publishes succeed, nothing acknowledged was lost");
        assert_eq!(received, published, "every acknowledged publish was delivered");
        server.wait_for_log("memory alarm cleared: publishes are accepted again");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let again: PublishRequest = serde_json::from_value(batch(0)).expect("request");
            let retry = publish(&api, "bounded", again.messages).await;
            match retry {
                Ok(reply) => {
                    assert_eq!(reply.message_ids.len(), BATCH);
                    break;
                }
                Err(error) if Instant::now() < deadline => {
                    tracing::info!(%error, "not yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("publishing after the drain: {error}"),
            }
        }
    });
}

//! Wake-ups across nodes, on three `pubsubgo-server` processes: a pull
//! waiting on a node that owns none of the topic's partitions returns a
//! message published to the owner as soon as the owner's wake-up reaches it
//! (a watch), not at the end of its wait; and while nothing happens, the
//! calls it costs the waiting node stay bounded (no polling of the owner).

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use testkit::redis::free_port;
use testkit::server_process::{DataDir, Server, WAIT};

/// How long the idle pull waits; a 50 ms poll would make ~2 calls per 50 ms.
const IDLE_WAIT_SECONDS: u64 = 3;
/// The most lease, next_wakeup and watch calls an idle pull may cost: a look
/// (lease + next_wakeup), the watch's first answer, one more look, a watch.
const IDLE_CALLS_BOUND: u64 = 12;

/// A node of the cluster with its client and metrics addresses.
struct Node {
    _server: Server,
    base: String,
    metrics: String,
}

fn start(id: u64, ports: &[u16], peers: &str, data: &DataDir) -> Node {
    let mut command = Server::cluster_node(id, ports[id as usize - 1], peers, data);
    command
        .env("PUBSUB_METRICS_ENABLED", "true")
        .env("PUBSUB_METRICS_PORT", "0")
        .env("PUBSUB_LOG_LEVEL", "warn,pubsubgo_server=info");
    let server = Server::spawn(command);
    let listening = server.wait_for_log("pubsubgo-server listening");
    let client = listening["client"].as_str().expect("client address");
    // Logged as `Some(host:port)`.
    let metrics = listening["metrics"]
        .as_str()
        .and_then(|m| m.strip_prefix("Some(")?.strip_suffix(')'))
        .expect("metrics address");
    Node {
        base: format!("http://{client}"),
        metrics: format!("http://{metrics}/metrics"),
        _server: server,
    }
}

async fn post(http: &reqwest::Client, url: String, body: Json) -> Json {
    let response = http.post(url).json(&body).send().await.expect("answer");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

/// The node's routed calls of `kinds` sent so far (`pubsubgo_peer_calls_total`).
async fn routed_calls(http: &reqwest::Client, node: &Node, kinds: &[&str]) -> u64 {
    let text = http
        .get(&node.metrics)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("pubsubgo_peer_calls_total{call=\"")?;
            let (kind, value) = rest.split_once("\"} ")?;
            kinds
                .contains(&kind)
                .then(|| value.trim().parse::<f64>().ok())
                .flatten()
        })
        .sum::<f64>() as u64
}

#[test_log::test]
fn a_pull_on_a_non_owner_is_woken_by_the_owner_and_idles_without_polling() {
    tracing::info!("arrange: three nodes, a topic with one partition and a subscription");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let peers = (1..=3u64)
        .zip(&ports)
        .map(|(id, port)| format!("{id}=127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let data = DataDir::new("wakeups");
    let nodes: Vec<Node> = (1..=3).map(|id| start(id, &ports, &peers, &data)).collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let http = testkit::client::http();
    runtime.block_on(async {
        for node in &nodes {
            let client = api::Client::new(&node.base, WAIT).expect("client");
            testkit::wait_for("node ready", WAIT, || async { client.ready().await.ok() })
                .await
                .expect("every node ready");
        }
        let first = api::Client::new(&nodes[0].base, WAIT).expect("client");
        first
            .create_topic("wake", &Default::default())
            .await
            .expect("topic");
        let subscription = api::types::CreateSubscriptionRequest {
            topic: "wake".to_owned(),
            ..Default::default()
        };
        first
            .create_subscription("wake-sub", &subscription)
            .await
            .expect("subscription");
        let status: Json = http
            .get(format!("{}/v1/cluster", nodes[0].base))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        let owner = status["partitions"]
            .as_array()
            .expect("partitions")
            .iter()
            .find(|p| p["topic"] == "wake")
            .and_then(|p| p["node"].as_u64())
            .expect("an owner") as usize;
        let (owner, waiter) = (&nodes[owner - 1], &nodes[owner % 3]);
        let pull_url = format!("{}/v1/subscriptions/wake-sub:pull", waiter.base);
        let kinds = ["lease", "next_wakeup", "watch"];

        tracing::info!("act: an idle pull on a node that owns nothing of the topic");
        let before = routed_calls(&http, waiter, &kinds).await;
        let idle = post(
            &http,
            pull_url.clone(),
            json!({"maxMessages": 1, "waitSeconds": IDLE_WAIT_SECONDS}),
        )
        .await;
        let idle_calls = routed_calls(&http, waiter, &kinds).await - before;

        tracing::info!(
            idle_calls,
            "assert: nothing delivered, and few calls while waiting"
        );
        assert!(
            idle["receivedMessages"]
                .as_array()
                .is_none_or(Vec::is_empty)
        );
        assert!(
            idle_calls <= IDLE_CALLS_BOUND,
            "{idle_calls} lease/next_wakeup/watch calls in a {IDLE_WAIT_SECONDS} s idle pull \
             (bound {IDLE_CALLS_BOUND}): the waiting node polls the owner"
        );

        tracing::info!("act: a long pull on the same node, then a publish to the owner");
        let watches = routed_calls(&http, waiter, &["watch"]).await;
        let pull = tokio::spawn({
            let (http, url) = (http.clone(), pull_url.clone());
            async move { post(&http, url, json!({"maxMessages": 1, "waitSeconds": 30})).await }
        });
        // The pull waits once its node watches the owner.
        testkit::wait_for("the waiting node watches the owner", WAIT, || async {
            (routed_calls(&http, waiter, &["watch"]).await > watches).then_some(())
        })
        .await
        .expect("a watch");
        let published = Instant::now();
        post(
            &http,
            format!("{}/v1/topics/wake:publish", owner.base),
            json!({"messages": [{"data": "d29rZW4="}]}),
        )
        .await;
        let pulled = pull.await.expect("pull task");
        let latency = published.elapsed();

        tracing::info!(
            ?latency,
            "assert: the pull returned the message, long before its wait ended"
        );
        assert_eq!(
            pulled["receivedMessages"][0]["message"]["data"], "d29rZW4=",
            "got {pulled}"
        );
        assert!(
            latency < Duration::from_secs(5),
            "the owner's publish reached the waiting pull after {latency:?}"
        );
    });
}

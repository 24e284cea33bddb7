//! Traces end to end: three `pubsubgo-server` processes export to an
//! OTLP/HTTP receiver inside the test; one message is published through one
//! node, pulled, nacked, redelivered and acked through another, and the
//! spans of both nodes share the publisher's trace. A second subscription
//! nacks it until it moves to a dead-letter topic, in the same trace.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use serde_json::{Value as Json, json};
use testkit::redis::free_port;
use testkit::server_process::{DataDir, Server, WAIT};

/// The publisher's trace, as an instrumented producer would send it.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// Deliveries of the second subscription before its dead-letter topic.
const DEAD_LETTER_ATTEMPTS: u32 = 5;

/// One exported span with its node (`pubsubgo.node.id` of its resource).
#[derive(Debug, Clone)]
struct Received {
    node: String,
    trace_id: String,
    span_id: String,
    name: String,
    kind: i32,
    attributes: Vec<KeyValue>,
    links: Vec<(String, String)>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|value| match value {
                Value::StringValue(s) => s.clone(),
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                other => format!("{other:?}"),
            })
    }
}

type Spans = Arc<Mutex<Vec<Received>>>;

async fn receive(State(spans): State<Spans>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
    let mut spans = spans.lock().expect("spans");
    for resource in request.resource_spans {
        let node = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "pubsubgo.node.id")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans.push(Received {
                node: node.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                name: span.name,
                kind: span.kind,
                attributes: span.attributes,
                links: span
                    .links
                    .iter()
                    .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                    .collect(),
            });
        }
    }
    ""
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Node `id` of a three-node cluster on `peers`, exporting to `endpoint`.
fn start_node(id: u64, peer_port: u16, peers: &str, endpoint: &str, data: &DataDir) -> Server {
    let mut command = Server::cluster_node(id, peer_port, peers, data);
    command
        // Quieter than the spans (only the start-up line, which the test reads):
        // traces must not depend on the log level.
        .env("PUBSUB_LOG_LEVEL", "warn,pubsubgo_server=info")
        .env("PUBSUB_TRACING_ENABLED", "true")
        .env("PUBSUB_TRACING_OTLP_ENDPOINT", endpoint);
    Server::spawn(command)
}

/// A JSON request with the publisher's `traceparent` when `traced`.
async fn call(http: &reqwest::Client, url: String, body: Json, traced: bool) -> Json {
    let mut request = http.post(url).json(&body);
    if traced {
        request = request.header("traceparent", TRACEPARENT);
    }
    let response = request.send().await.expect("answer");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

/// Pulls from `subscription` until a message arrives.
async fn pull_one(http: &reqwest::Client, base: &str, subscription: &str) -> Json {
    loop {
        let reply = call(
            http,
            format!("{base}/v1/subscriptions/{subscription}:pull"),
            json!({"maxMessages": 1, "waitSeconds": 5}),
            false,
        )
        .await;
        if let Some(message) = reply["receivedMessages"].get(0) {
            return message.clone();
        }
    }
}

#[test_log::test]
fn one_message_is_one_trace_across_two_nodes_from_publish_to_ack() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let spans: Spans = Arc::default();
    let receiver = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver port");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/v1/traces")
    });

    tracing::info!("arrange: three nodes exporting spans, a topic with one partition");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let peers = (1..=3u64)
        .zip(&ports)
        .map(|(id, port)| format!("{id}=127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let data = DataDir::new("traces");
    let nodes: Vec<Server> = (1..=3u64)
        .zip(&ports)
        .map(|(id, port)| start_node(id, *port, &peers, &receiver, &data))
        .collect();
    let bases: Vec<String> = nodes
        .iter()
        .map(|n| format!("http://{}", n.client_addr()))
        .collect();
    let http = testkit::client::http();
    runtime.block_on(async {
        for base in &bases {
            let client = api::Client::new(base, WAIT).expect("client");
            tokio::time::timeout(WAIT, async {
                while client.ready().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await
            .expect("every node ready");
        }
        let first = api::Client::new(&bases[0], WAIT).expect("client");
        first
            .create_topic("traced", &Default::default())
            .await
            .expect("topic");
        let subscription = api::types::CreateSubscriptionRequest {
            topic: "traced".to_owned(),
            start_position: Some(api::types::StartPosition::Earliest),
            ..Default::default()
        };
        first
            .create_subscription("traced-sub", &subscription)
            .await
            .expect("subscription");
        first
            .create_topic("traced-dead", &Default::default())
            .await
            .expect("dead-letter topic");
        let dead_lettering = api::types::CreateSubscriptionRequest {
            dead_letter_policy: Some(api::types::DeadLetterPolicySpec {
                dead_letter_topic: "traced-dead".to_owned(),
                max_delivery_attempts: Some(DEAD_LETTER_ATTEMPTS),
            }),
            ..subscription
        };
        first
            .create_subscription("traced-dlq", &dead_lettering)
            .await
            .expect("dead-lettering subscription");
    });
    let owner = runtime.block_on(async {
        let status: Json = http
            .get(format!("{}/v1/cluster", bases[0]))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        status["partitions"]
            .as_array()
            .expect("partitions")
            .iter()
            .find(|p| p["topic"] == "traced")
            .and_then(|p| p["node"].as_u64())
            .expect("an owner")
    });
    // Publish through a node that does not own the partition (the append is
    // forwarded), consume through another node.
    let producer = (1..=3u64).find(|id| *id != owner).expect("producer");
    let consumer = (1..=3u64).find(|id| *id != producer).expect("consumer");
    let (producer_base, consumer_base) =
        (&bases[producer as usize - 1], &bases[consumer as usize - 1]);
    tracing::info!(
        owner,
        producer,
        consumer,
        "the partition's owner and the two nodes used"
    );

    tracing::info!("act: publish with a traceparent, pull, nack, pull the redelivery, ack");
    runtime.block_on(async {
        call(
            &http,
            format!("{producer_base}/v1/topics/traced:publish"),
            json!({"messages": [{"data": "aGVsbG8="}]}),
            true,
        )
        .await;
        let first = pull_one(&http, consumer_base, "traced-sub").await;
        let created = first["message"]["attributes"]["traceparent"]
            .as_str()
            .expect("the message carries its creation context");
        assert!(
            created.starts_with(&format!("00-{TRACE_ID}-")),
            "the publish span's context, in the publisher's trace: {created}"
        );
        call(
            &http,
            format!("{consumer_base}/v1/subscriptions/traced-sub:nack"),
            json!({"ackIds": [first["ackId"]], "delaySeconds": 0}),
            true,
        )
        .await;
        let again = pull_one(&http, consumer_base, "traced-sub").await;
        assert_eq!(again["deliveryAttempt"], 2);
        call(
            &http,
            format!("{producer_base}/v1/subscriptions/traced-sub:acknowledge"),
            json!({"ackIds": [again["ackId"]]}),
            true,
        )
        .await;
        // Untraced nacks: the move to the dead-letter topic still joins the
        // message's trace, through its creation context.
        for _ in 0..DEAD_LETTER_ATTEMPTS {
            let delivery = pull_one(&http, consumer_base, "traced-dlq").await;
            call(
                &http,
                format!("{consumer_base}/v1/subscriptions/traced-dlq:nack"),
                json!({"ackIds": [delivery["ackId"]], "delaySeconds": 0}),
                false,
            )
            .await;
        }
    });

    tracing::info!("assert: the receiver holds one trace with the spans of both nodes");
    let complete = |spans: &[Received]| {
        let traced: Vec<&Received> = spans.iter().filter(|s| s.trace_id == TRACE_ID).collect();
        let has = |name: &str, kind: SpanKind| {
            traced
                .iter()
                .any(|s| s.name == name && s.kind == kind as i32)
        };
        let processed = traced
            .iter()
            .filter(|s| s.name == "process traced-sub")
            .count();
        has("publish traced", SpanKind::Producer)
            && has("settle traced-sub", SpanKind::Client)
            && traced
                .iter()
                .filter(|s| s.name == "settle traced-sub")
                .count()
                >= 2
            && processed >= 2
            && traced
                .iter()
                .any(|s| s.name.starts_with("forward ") && s.kind == SpanKind::Client as i32)
            && traced
                .iter()
                .any(|s| s.name.starts_with("serve ") && s.kind == SpanKind::Server as i32)
            && spans.iter().any(|s| s.name == "receive traced-sub")
            && has("dead_letter traced-dlq", SpanKind::Producer)
    };
    let spans = runtime.block_on(async {
        tokio::time::timeout(WAIT, async {
            loop {
                let now = spans.lock().expect("spans").clone();
                if complete(&now) {
                    return now;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            let now = spans.lock().expect("spans").clone();
            let names: BTreeSet<(String, String, String)> = now
                .iter()
                .map(|s| (s.trace_id.clone(), s.node.clone(), s.name.clone()))
                .collect();
            panic!("the trace is incomplete; spans received: {names:#?}")
        })
    });
    let traced: Vec<&Received> = spans.iter().filter(|s| s.trace_id == TRACE_ID).collect();
    let nodes_in_trace: BTreeSet<&str> = traced.iter().map(|s| s.node.as_str()).collect();
    assert!(
        nodes_in_trace.contains(producer.to_string().as_str())
            && nodes_in_trace.contains(consumer.to_string().as_str())
            && nodes_in_trace.contains(owner.to_string().as_str()),
        "producer {producer}, consumer {consumer} and owner {owner} all in the trace: {nodes_in_trace:?}"
    );
    let publish = traced
        .iter()
        .find(|s| s.name == "publish traced")
        .expect("publish span");
    assert_eq!(publish.node, producer.to_string());
    let attempts: BTreeSet<String> = traced
        .iter()
        .filter(|s| s.name == "process traced-sub")
        .filter_map(|s| s.attribute("messaging.pubsubgo.delivery_attempt"))
        .collect();
    assert_eq!(attempts, BTreeSet::from(["1".to_owned(), "2".to_owned()]));
    let settled: BTreeSet<String> = traced
        .iter()
        .filter(|s| s.name == "settle traced-sub")
        .filter_map(|s| s.attribute("messaging.operation.name"))
        .collect();
    assert!(
        settled.contains("nack") && settled.contains("ack"),
        "{settled:?}"
    );
    let dead_letter = traced
        .iter()
        .find(|s| s.name == "dead_letter traced-dlq")
        .expect("dead-letter span");
    assert_eq!(
        dead_letter
            .attribute("messaging.destination.name")
            .as_deref(),
        Some("traced-dead")
    );
    assert_eq!(
        dead_letter
            .attribute("messaging.pubsubgo.delivery_attempt")
            .as_deref(),
        Some(DEAD_LETTER_ATTEMPTS.to_string().as_str())
    );
    // The consumer side links back to where the message was created.
    let linked = spans
        .iter()
        .filter(|s| s.name == "receive traced-sub" && s.kind == SpanKind::Consumer as i32)
        .filter(|s| {
            s.links
                .contains(&(TRACE_ID.to_owned(), publish.span_id.clone()))
        })
        .count();
    assert!(linked >= 2, "both receives link to the publish span");
    drop(nodes);
}

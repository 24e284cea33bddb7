//! Consumer groups over HTTP and WebSocket: join, heartbeat, leave, session
//! expiry with sticky rebalancing, generations on delivered messages, and the
//! `UNKNOWN_MEMBER` error for members that are gone.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use api::frames::ServerFrame;
use api::types::{
    CreateSubscriptionRequest, CreateTopicRequest, JoinGroupRequest, PublishMessage,
    PublishRequest, PullRequest, SubscriptionType,
};
use api::{Client, ErrorCode, PublishOptions};
use axum::Router;
use cluster::partitioning::partition_for_key;
use http::Method;
use node::TestNode;
use node::broker::Broker;
use node::broker::groups::GROUP_EXPIRY_INTERVAL;
use serde_json::{Value, json};
use support::{Reply, app, b64, get, json};

const TOPIC: &str = "events";
const SUB: &str = "workers";

/// Creates `TOPIC` with `partitions` and a partitioned subscription `SUB` on it.
async fn partitioned(app: &Router, partitions: u32) {
    json(
        app,
        Method::PUT,
        &format!("/v1/topics/{TOPIC}"),
        json!({"partitions": partitions}),
    )
    .await
    .ok();
    json(
        app,
        Method::PUT,
        &format!("/v1/subscriptions/{SUB}"),
        json!({"topic": TOPIC, "type": "partitioned", "ackDeadlineSeconds": 60}),
    )
    .await
    .ok();
}

/// An ordering key that lands on `partition` (found by the documented hash).
fn key_for(partition: u32, partitions: u32) -> String {
    (0..)
        .map(|i| format!("key-{i}"))
        .find(|k| partition_for_key(k, partitions) == partition)
        .expect("some key hashes to every partition")
}

/// Publishes one message to every partition, tagged with `round`.
async fn publish_everywhere(app: &Router, partitions: u32, round: usize) {
    let messages: Vec<Value> = (0..partitions)
        .map(|p| json!({"data": b64(&format!("{round}:{p}")), "orderingKey": key_for(p, partitions)}))
        .collect();
    json(
        app,
        Method::POST,
        &format!("/v1/topics/{TOPIC}:publish"),
        json!({ "messages": messages }),
    )
    .await
    .ok();
}

/// A member as the test drives it.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    generation: u64,
    partitions: BTreeSet<u32>,
}

async fn join(app: &Router, body: Value) -> Reply {
    json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{SUB}:join"),
        body,
    )
    .await
}

async fn join_member(app: &Router, session_timeout_seconds: u32) -> Member {
    let reply = join(
        app,
        json!({"sessionTimeoutSeconds": session_timeout_seconds}),
    )
    .await;
    let body = reply.ok();
    Member {
        id: body["memberId"].as_str().expect("memberId").to_owned(),
        generation: body["generation"].as_u64().expect("generation"),
        partitions: partitions_of(body),
    }
}

async fn heartbeat(app: &Router, member_id: &str, generation: u64) -> Reply {
    json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{SUB}:heartbeat"),
        json!({"memberId": member_id, "generation": generation}),
    )
    .await
}

/// Heartbeats and takes the answer as the member's new view.
async fn catch_up(app: &Router, member: &mut Member) {
    let reply = heartbeat(app, &member.id, member.generation).await;
    let body = reply.ok();
    member.generation = body["generation"].as_u64().expect("generation");
    member.partitions = partitions_of(body);
}

fn partitions_of(body: &Value) -> BTreeSet<u32> {
    body["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| u32::try_from(p.as_u64().expect("number")).expect("u32"))
        .collect()
}

async fn pull_as(app: &Router, sub: &str, member_id: Option<&str>) -> Reply {
    let mut body = json!({"maxMessages": 1000});
    if let Some(id) = member_id {
        body["memberId"] = json!(id);
    }
    json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{sub}:pull"),
        body,
    )
    .await
}

/// One delivered message: partition, generation (if any), ack id, data.
#[derive(Debug)]
struct Delivered {
    partition: u32,
    generation: Option<u64>,
    ack_id: String,
}

fn delivered(reply: &Reply) -> Vec<Delivered> {
    reply.ok()["receivedMessages"]
        .as_array()
        .expect("receivedMessages")
        .iter()
        .map(|m| Delivered {
            partition: u32::try_from(m["message"]["partition"].as_u64().expect("partition"))
                .expect("u32"),
            generation: m.get("generation").map(|g| g.as_u64().expect("number")),
            ack_id: m["ackId"].as_str().expect("ackId").to_owned(),
        })
        .collect()
}

async fn ack(app: &Router, sub: &str, messages: &[Delivered]) {
    if messages.is_empty() {
        return;
    }
    let ack_ids: Vec<&str> = messages.iter().map(|m| m.ack_id.as_str()).collect();
    json(
        app,
        Method::POST,
        &format!("/v1/subscriptions/{sub}:acknowledge"),
        json!({ "ackIds": ack_ids }),
    )
    .await
    .ok();
}

/// Who was served each (generation, partition). A second member for the same
/// pair is exactly the failure consumer groups exist to prevent.
#[derive(Debug, Default)]
struct Ledger(BTreeMap<(u64, u32), String>);

impl Ledger {
    fn record(&mut self, member: &str, messages: &[Delivered]) {
        for m in messages {
            let generation = m
                .generation
                .expect("partitioned deliveries carry a generation");
            let holder = self
                .0
                .entry((generation, m.partition))
                .or_insert_with(|| member.to_owned());
            assert_eq!(
                holder, member,
                "partition {} served to two members in generation {generation}",
                m.partition
            );
        }
    }
}

/// Pulls as `member`, checks every message is from its partitions and
/// generation, records and acks them.
async fn consume(app: &Router, member: &Member, ledger: &mut Ledger) -> Vec<Delivered> {
    let reply = pull_as(app, SUB, Some(&member.id)).await;
    let messages = delivered(&reply);
    for m in &messages {
        assert!(
            member.partitions.contains(&m.partition),
            "{} got partition {} outside {:?}",
            member.id,
            m.partition,
            member.partitions
        );
    }
    ledger.record(&member.id, &messages);
    ack(app, SUB, &messages).await;
    messages
}

fn all_partitions(members: &[&Member], partitions: u32) {
    let mut seen = BTreeSet::new();
    for member in members {
        for p in &member.partitions {
            assert!(seen.insert(*p), "partition {p} assigned twice");
        }
    }
    assert_eq!(seen, (0..partitions).collect(), "every partition assigned");
}

fn start_expiry(broker: &Broker) {
    tokio::spawn(broker.groups.clone().run_expiry(broker.shutdown.clone()));
}

#[tokio::test(start_paused = true)]
async fn a_silent_member_loses_its_partitions_to_the_others_in_a_new_generation() {
    const PARTITIONS: u32 = 12;
    const SESSION: Duration = Duration::from_secs(10);
    const STEP: Duration = Duration::from_millis(500);
    let (app, broker) = app();
    start_expiry(&broker);
    partitioned(&app, PARTITIONS).await;

    tracing::info!("arrange: three members join a 12-partition topic with a 10 s session");
    let mut a = join_member(&app, 10).await;
    let mut b = join_member(&app, 10).await;
    let mut c = join_member(&app, 10).await;
    for member in [&mut a, &mut b, &mut c] {
        catch_up(&app, member).await;
    }
    let first = a.generation;
    assert!([b.generation, c.generation].iter().all(|g| *g == first));
    all_partitions(&[&a, &b, &c], PARTITIONS);
    for member in [&a, &b, &c] {
        assert_eq!(member.partitions.len(), 4, "{member:?}");
    }
    let described = get(&app, &format!("/v1/subscriptions/{SUB}")).await;
    let group = &described.ok()["group"];
    assert_eq!(group["generation"], first);
    assert_eq!(group["members"].as_array().map(Vec::len), Some(3));
    for shown in group["members"].as_array().expect("members") {
        let owner = [&a, &b, &c]
            .into_iter()
            .find(|m| shown["memberId"] == m.id.as_str())
            .expect("a known member");
        assert_eq!(partitions_of(shown), owner.partitions);
    }

    tracing::info!("act: each member consumes exactly its own partitions");
    let mut ledger = Ledger::default();
    publish_everywhere(&app, PARTITIONS, 0).await;
    for member in [&a, &b, &c] {
        let got = consume(&app, member, &mut ledger).await;
        assert_eq!(got.len(), 4, "one message per owned partition");
        assert!(got.iter().all(|m| m.generation == Some(first)));
    }

    tracing::info!("act: c goes silent but keeps pulling; a and b heartbeat and pull");
    let c_silent_since = tokio::time::Instant::now();
    // Steps fall halfway between expiry ticks, so an expiry never lands between
    // a member's heartbeat and the pull that relies on its answer.
    tokio::time::sleep(STEP / 2).await;
    let mut round = 1;
    let moved_after = loop {
        tokio::time::sleep(STEP).await;
        catch_up(&app, &mut a).await;
        catch_up(&app, &mut b).await;
        publish_everywhere(&app, PARTITIONS, round).await;
        round += 1;
        consume(&app, &a, &mut ledger).await;
        consume(&app, &b, &mut ledger).await;
        let c_pull = pull_as(&app, SUB, Some(&c.id)).await;
        if c_pull.status.is_success() {
            let got = delivered(&c_pull);
            ledger.record(&c.id, &got);
            assert!(got.iter().all(|m| c.partitions.contains(&m.partition)));
            ack(&app, SUB, &got).await;
        } else {
            c_pull.problem(404, "UNKNOWN_MEMBER");
        }
        if a.generation > first {
            break c_silent_since.elapsed();
        }
        assert!(
            c_silent_since.elapsed() <= SESSION + GROUP_EXPIRY_INTERVAL + STEP,
            "c is still assigned {:?} after its session ran out",
            c.partitions
        );
    };

    tracing::info!(?moved_after, "assert: c was removed on time, not early");
    assert!(moved_after >= SESSION, "removed after {moved_after:?}");
    assert!(moved_after <= SESSION + GROUP_EXPIRY_INTERVAL + STEP);
    assert_eq!(a.generation, b.generation);
    assert!(a.generation > first);
    all_partitions(&[&a, &b], PARTITIONS);
    assert_eq!((a.partitions.len(), b.partitions.len()), (6, 6));
    let a_before: BTreeSet<u32> = ledger_partitions(&ledger, first, &a.id);
    let b_before: BTreeSet<u32> = ledger_partitions(&ledger, first, &b.id);
    assert!(
        a.partitions.is_superset(&a_before),
        "sticky: a keeps its own"
    );
    assert!(
        b.partitions.is_superset(&b_before),
        "sticky: b keeps its own"
    );

    tracing::info!("assert: the old member is rejected, its partitions are served to a and b");
    pull_as(&app, SUB, Some(&c.id))
        .await
        .problem(404, "UNKNOWN_MEMBER");
    heartbeat(&app, &c.id, c.generation)
        .await
        .problem(404, "UNKNOWN_MEMBER");
    publish_everywhere(&app, PARTITIONS, round).await;
    let got_a = consume(&app, &a, &mut ledger).await;
    let got_b = consume(&app, &b, &mut ledger).await;
    let served: BTreeSet<u32> = got_a.iter().chain(&got_b).map(|m| m.partition).collect();
    assert_eq!(served, (0..PARTITIONS).collect());
    assert!(
        got_a
            .iter()
            .chain(&got_b)
            .all(|m| m.generation == Some(a.generation))
    );
    for p in &c.partitions {
        assert_eq!(ledger.0.get(&(first, *p)), Some(&c.id));
        let next = ledger.0.get(&(a.generation, *p));
        assert!(next == Some(&a.id) || next == Some(&b.id), "partition {p}");
    }
}

fn ledger_partitions(ledger: &Ledger, generation: u64, member: &str) -> BTreeSet<u32> {
    ledger
        .0
        .iter()
        .filter(|((g, _), m)| *g == generation && m.as_str() == member)
        .map(|((_, p), _)| *p)
        .collect()
}

#[tokio::test]
async fn a_member_gets_only_its_partitions_and_a_departed_member_is_rejected() {
    const PARTITIONS: u32 = 4;
    let (app, _) = app();
    partitioned(&app, PARTITIONS).await;
    json(
        &app,
        Method::PUT,
        "/v1/subscriptions/audit",
        json!({"topic": TOPIC}),
    )
    .await
    .ok();

    tracing::info!("arrange: a joins alone, then b joins and takes half");
    let mut a = join_member(&app, 30).await;
    assert_eq!(a.partitions, (0..PARTITIONS).collect());
    let b = join_member(&app, 30).await;
    assert!(b.generation > a.generation);
    assert_eq!(b.partitions.len(), 2);

    tracing::info!("act: a heartbeats with its old generation and catches up");
    let stale = a.generation;
    catch_up(&app, &mut a).await;
    assert!(
        a.generation > stale,
        "the answer carries the new generation"
    );
    assert_eq!(a.generation, b.generation);
    all_partitions(&[&a, &b], PARTITIONS);

    tracing::info!("act: two messages per partition; each member pulls everything it can");
    publish_everywhere(&app, PARTITIONS, 0).await;
    publish_everywhere(&app, PARTITIONS, 1).await;
    let mut ledger = Ledger::default();
    let got_a = consume(&app, &a, &mut ledger).await;
    let got_b = consume(&app, &b, &mut ledger).await;
    assert_eq!((got_a.len(), got_b.len()), (4, 4));
    assert!(
        got_a
            .iter()
            .chain(&got_b)
            .all(|m| m.generation == Some(a.generation))
    );

    tracing::info!("assert: a shared subscription's deliveries carry no generation");
    let shared = delivered(&pull_as(&app, "audit", None).await);
    assert_eq!(shared.len(), 8);
    assert!(shared.iter().all(|m| m.generation.is_none()));

    tracing::info!("act: b leaves; its pulls, heartbeats and leaves are now rejected");
    json(
        &app,
        Method::POST,
        &format!("/v1/subscriptions/{SUB}:leave"),
        json!({"memberId": b.id}),
    )
    .await
    .ok();
    let rejected = pull_as(&app, SUB, Some(&b.id)).await;
    let detail = rejected.problem(404, "UNKNOWN_MEMBER");
    assert!(detail.contains("join again"), "{detail}");
    assert_eq!(rejected.body["retryable"], false);
    heartbeat(&app, &b.id, b.generation)
        .await
        .problem(404, "UNKNOWN_MEMBER");
    json(
        &app,
        Method::POST,
        &format!("/v1/subscriptions/{SUB}:leave"),
        json!({"memberId": b.id}),
    )
    .await
    .problem(404, "UNKNOWN_MEMBER");

    tracing::info!("assert: a now owns every partition, in a newer generation");
    let before = a.generation;
    catch_up(&app, &mut a).await;
    assert!(a.generation > before);
    assert_eq!(a.partitions, (0..PARTITIONS).collect());
    publish_everywhere(&app, PARTITIONS, 2).await;
    let got = consume(&app, &a, &mut ledger).await;
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|m| m.generation == Some(a.generation)));
}

#[tokio::test]
async fn group_requests_are_validated_with_documented_codes() {
    let (app, _) = app();
    partitioned(&app, 3).await;
    json(
        &app,
        Method::PUT,
        "/v1/subscriptions/audit",
        json!({"topic": TOPIC}),
    )
    .await
    .ok();

    tracing::info!("a partitioned subscription shows an empty group before any join");
    let described = get(&app, &format!("/v1/subscriptions/{SUB}")).await;
    assert_eq!(described.ok()["type"], "partitioned");
    assert_eq!(
        described.ok()["group"],
        json!({"generation": 0, "members": []})
    );
    let shared = get(&app, "/v1/subscriptions/audit").await;
    assert!(shared.ok().get("group").is_none());

    tracing::info!("session timeout: 6 to 300 s, default 30 s, heartbeat every third");
    for bad in [5, 301] {
        let detail = join(&app, json!({"sessionTimeoutSeconds": bad}))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert!(detail.contains("sessionTimeoutSeconds"), "{detail}");
    }
    for (timeout, interval) in [(6, 2), (300, 100)] {
        let reply = join(&app, json!({"sessionTimeoutSeconds": timeout})).await;
        assert_eq!(reply.ok()["heartbeatIntervalSeconds"], interval);
    }
    let joined = join(&app, json!({})).await;
    assert_eq!(joined.ok()["heartbeatIntervalSeconds"], 10);
    let member_id = joined.ok()["memberId"].as_str().expect("id").to_owned();
    let generation = joined.ok()["generation"].as_u64().expect("generation");
    let described = get(&app, &format!("/v1/subscriptions/{SUB}")).await;
    let shown = described.ok()["group"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["memberId"] == member_id.as_str())
        .cloned()
        .expect("the new member is listed");
    assert_eq!(shown["sessionTimeoutSeconds"], 30);
    assert!(
        shown["lastHeartbeatTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    join(&app, json!({"sessionTimeout": 30}))
        .await
        .problem(400, "INVALID_ARGUMENT");

    tracing::info!("groups exist only on partitioned subscriptions that exist");
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/audit:join",
        json!({}),
    )
    .await
    .problem(409, "FAILED_PRECONDITION");
    json(
        &app,
        Method::POST,
        "/v1/subscriptions/nowhere:join",
        json!({}),
    )
    .await
    .problem(404, "SUBSCRIPTION_NOT_FOUND");

    tracing::info!("heartbeats: unknown, malformed and future members or generations");
    heartbeat(&app, "m-never-joined", 0)
        .await
        .problem(404, "UNKNOWN_MEMBER");
    heartbeat(&app, "not a member id", 0)
        .await
        .problem(400, "INVALID_ARGUMENT");
    heartbeat(&app, &member_id, generation + 100)
        .await
        .problem(409, "FAILED_PRECONDITION");

    tracing::info!(
        "pulls: a partitioned subscription needs memberId, a shared one refuses it (the state, not the request's shape)"
    );
    let detail = pull_as(&app, SUB, None)
        .await
        .problem(409, "FAILED_PRECONDITION");
    assert!(detail.contains("memberId"), "{detail}");
    pull_as(&app, "audit", Some(&member_id))
        .await
        .problem(409, "FAILED_PRECONDITION");
    pull_as(&app, SUB, Some("m-never-joined"))
        .await
        .problem(404, "UNKNOWN_MEMBER");
    pull_as(&app, SUB, Some(&member_id)).await.ok();
}

#[tokio::test]
async fn a_lease_of_nothing_needs_no_member() {
    let (app, broker) = app();
    partitioned(&app, 2).await;
    join_member(&app, 30).await;
    publish_everywhere(&app, 2, 0).await;
    let target = broker.delivery.target(SUB).await.expect("target");
    let leased = broker
        .delivery
        .lease_batch(&target, 0)
        .await
        .expect("upkeep works on partitioned subscriptions");
    assert!(leased.is_empty());
    let refused = broker.delivery.lease_batch(&target, 1).await;
    assert!(refused.is_err(), "delivering needs a member");
}

#[test]
fn unknown_member_is_a_documented_non_retryable_404() {
    assert_eq!(ErrorCode::UnknownMember.status(), 404);
    assert!(!ErrorCode::UnknownMember.retryable());
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains("`UNKNOWN_MEMBER` 404"),
        "README lists the error code"
    );
}

const WAIT: Duration = Duration::from_secs(10);

async fn next_frame(stream: &mut api::stream::Subscriber) -> ServerFrame {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a frame within the wait")
        .expect("stream open")
        .expect("valid frame")
}

async fn publish_to(client: &Client, partition: u32, partitions: u32, text: &str) {
    let request = PublishRequest {
        messages: vec![PublishMessage {
            data: text.into(),
            ordering_key: Some(key_for(partition, partitions)),
            ..Default::default()
        }],
    };
    client
        .publish(TOPIC, &request, &PublishOptions::default())
        .await
        .expect("publish");
}

#[tokio::test]
async fn a_member_streams_only_its_partitions_until_it_leaves() {
    const PARTITIONS: u32 = 2;
    let node = TestNode::start().await.expect("server");
    let client = Client::new(&node.url, Duration::from_secs(30)).expect("client");
    let topic = CreateTopicRequest {
        partitions: Some(PARTITIONS),
        ..Default::default()
    };
    client.create_topic(TOPIC, &topic).await.expect("topic");
    let sub = CreateSubscriptionRequest {
        topic: TOPIC.into(),
        kind: Some(SubscriptionType::Partitioned),
        ack_deadline_seconds: Some(60),
        ..Default::default()
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

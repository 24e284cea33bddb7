//! The consumer group as a test drives it over the real router: `TOPIC` and
//! its partitioned subscription `SUB`, members that join, heartbeat, pull and
//! ack, and a [`Ledger`] of who was served what.

use std::collections::{BTreeMap, BTreeSet};

use cluster::partitioning::partition_for_key;
use node::broker::Broker;
use serde_json::{Value, json};
use testkit::router::{App, Reply, b64};

pub const TOPIC: &str = "events";
pub const SUB: &str = "workers";

/// Creates `TOPIC` with `partitions` and a partitioned subscription `SUB` on it.
pub async fn partitioned(app: &App, partitions: u32) {
    app.put_topic(TOPIC, json!({"partitions": partitions}))
        .await
        .ok();
    app.put_subscription(
        SUB,
        json!({"topic": TOPIC, "type": "partitioned", "ackDeadlineSeconds": 60}),
    )
    .await
    .ok();
}

/// An ordering key that lands on `partition` (found by the documented hash).
pub fn key_for(partition: u32, partitions: u32) -> String {
    (0..)
        .map(|i| format!("key-{i}"))
        .find(|k| partition_for_key(k, partitions) == partition)
        .expect("some key hashes to every partition")
}

/// Publishes one message to every partition, tagged with `round`.
pub async fn publish_everywhere(app: &App, partitions: u32, round: usize) {
    let messages: Vec<Value> = (0..partitions)
        .map(|p| json!({"data": b64(&format!("{round}:{p}")), "orderingKey": key_for(p, partitions)}))
        .collect();
    app.publish(TOPIC, json!(messages)).await.ok();
}

/// A member as the test drives it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub generation: u64,
    pub partitions: BTreeSet<u32>,
}

pub async fn join(app: &App, body: Value) -> Reply {
    app.verb(SUB, "join", body).await
}

pub async fn join_member(app: &App, session_timeout_seconds: u32) -> Member {
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

pub async fn heartbeat(app: &App, member_id: &str, generation: u64) -> Reply {
    app.verb(
        SUB,
        "heartbeat",
        json!({"memberId": member_id, "generation": generation}),
    )
    .await
}

/// Heartbeats and takes the answer as the member's new view.
pub async fn catch_up(app: &App, member: &mut Member) {
    let reply = heartbeat(app, &member.id, member.generation).await;
    let body = reply.ok();
    member.generation = body["generation"].as_u64().expect("generation");
    member.partitions = partitions_of(body);
}

pub fn partitions_of(body: &Value) -> BTreeSet<u32> {
    body["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| u32::try_from(p.as_u64().expect("number")).expect("u32"))
        .collect()
}

pub async fn pull_as(app: &App, sub: &str, member_id: Option<&str>) -> Reply {
    let mut body = json!({"maxMessages": 1000});
    if let Some(id) = member_id {
        body["memberId"] = json!(id);
    }
    app.verb(sub, "pull", body).await
}

/// One delivered message: partition, generation (if any), ack id, data.
#[derive(Debug)]
pub struct Delivered {
    pub partition: u32,
    pub generation: Option<u64>,
    pub ack_id: String,
}

pub fn delivered(reply: &Reply) -> Vec<Delivered> {
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

pub async fn ack(app: &App, sub: &str, messages: &[Delivered]) {
    if messages.is_empty() {
        return;
    }
    let ack_ids: Vec<&str> = messages.iter().map(|m| m.ack_id.as_str()).collect();
    app.ack(sub, &ack_ids).await;
}

/// Who was served each (generation, partition). A second member for the same
/// pair is exactly the failure consumer groups exist to prevent.
#[derive(Debug, Default)]
pub struct Ledger(pub BTreeMap<(u64, u32), String>);

impl Ledger {
    pub fn record(&mut self, member: &str, messages: &[Delivered]) {
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
pub async fn consume(app: &App, member: &Member, ledger: &mut Ledger) -> Vec<Delivered> {
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

pub fn all_partitions(members: &[&Member], partitions: u32) {
    let mut seen = BTreeSet::new();
    for member in members {
        for p in &member.partitions {
            assert!(seen.insert(*p), "partition {p} assigned twice");
        }
    }
    assert_eq!(seen, (0..partitions).collect(), "every partition assigned");
}

pub fn start_expiry(broker: &Broker) {
    tokio::spawn(broker.groups.clone().run_expiry(broker.shutdown.clone()));
}

/// The partitions `member` was served in `generation`.
pub fn ledger_partitions(ledger: &Ledger, generation: u64, member: &str) -> BTreeSet<u32> {
    ledger
        .0
        .iter()
        .filter(|((g, _), m)| *g == generation && m.as_str() == member)
        .map(|((_, p), _)| *p)
        .collect()
}

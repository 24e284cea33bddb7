//! The workload: two topics (`q-leader` at ack level `leader`, `q-fsynced` at
//! `fsynced`, 4 partitions each), an ordered shared subscription on each and a
//! consumer group (`g-leader`) on the first; four publishers (per topic one
//! with ordering keys and idempotency keys, one with neither), two pullers per
//! shared subscription and two group members. Each worker talks to one node,
//! as a client bound to its nearest broker would.
//!
//! Dead letters: a fifth publisher writes to `q-nack`, whose subscription
//! `s-nack` has a dead-letter policy (`q-dead`, 5 attempts) and a consumer
//! that nacks every delivery; `s-dead` reads the dead-letter topic.
//!
//! Exactly-once: `s-once`, a second ordered subscription of `q-fsynced` in
//! `exactly-once` mode with two pullers, whose successful acks are final.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use api::types::{
    AckLevel, CreateSubscriptionRequest, CreateTopicRequest, DeadLetterPolicySpec, DeliveryMode,
    PublishMessage, PublishRequest, StartPosition, SubscriptionType,
};
use api::{Client, PublishOptions};

use crate::checkers::DeadLetterPolicy;
use crate::history::{Delivery, Event, Kind, Op};
use crate::net;
use crate::procs::CLIENT_PORT;
use crate::recorder::{Recorder, classify, describe};

/// The topics: name and ack level.
pub const TOPICS: [(&str, &str); 2] = [("q-leader", "leader"), ("q-fsynced", "fsynced")];
/// Shared subscriptions: name and topic.
pub const SHARED: [(&str, &str); 2] = [("s-leader", "q-leader"), ("s-fsynced", "q-fsynced")];
/// On a Redis Cluster (`redis-failover`), a third topic at `replicated:1`,
/// the level whose promise survives a failover, with its own subscription.
pub const CLUSTER_TOPICS: [(&str, &str); 3] =
    [TOPICS[0], TOPICS[1], ("q-replicated", "replicated:1")];
/// The shared subscriptions on a Redis Cluster.
pub const CLUSTER_SHARED: [(&str, &str); 3] =
    [SHARED[0], SHARED[1], ("s-replicated", "q-replicated")];

/// The topics of a run on a Redis Cluster (`cluster`) or a standalone Redis.
pub fn topics(cluster: bool) -> &'static [(&'static str, &'static str)] {
    if cluster { &CLUSTER_TOPICS } else { &TOPICS }
}

/// The shared subscriptions of a run, as [`topics`].
pub fn shared(cluster: bool) -> &'static [(&'static str, &'static str)] {
    if cluster { &CLUSTER_SHARED } else { &SHARED }
}
/// The consumer group's subscription and topic.
pub const GROUP: (&str, &str) = ("g-leader", "q-leader");
/// The `exactly-once` subscription, and its topic.
pub const ONCE: (&str, &str) = ("s-once", "q-fsynced");
/// The subscription whose every delivery is nacked, and its topic.
pub const NACKED: (&str, &str) = ("s-nack", "q-nack");
/// The subscription of the dead-letter topic, and the topic.
pub const DEAD: (&str, &str) = ("s-dead", "q-dead");
/// `s-nack`'s dead-letter policy: deliveries before a message is dead-lettered.
const DEAD_LETTER_ATTEMPTS: u32 = 5;
/// Time between one worker's publishes.
pub const PACE: Duration = Duration::from_millis(60);

/// `s-nack`'s policy, for the dead-letter checker.
pub fn dead_letter_policy() -> DeadLetterPolicy {
    DeadLetterPolicy {
        subscription: NACKED.0.to_owned(),
        topic: DEAD.1.to_owned(),
        max_attempts: DEAD_LETTER_ATTEMPTS,
    }
}

/// A client of node `node`, waiting at most 5 s per request.
pub fn client(node: u64) -> Result<Client> {
    let url = format!("http://{}:{CLIENT_PORT}", net::address(node));
    Ok(Client::new(&url, Duration::from_secs(5))?)
}

/// Creates the topics and subscriptions through node 1 ([`topics`] of
/// `cluster`).
pub async fn create(client: &Client, cluster: bool) -> Result<()> {
    for &(topic, level) in topics(cluster) {
        let request = CreateTopicRequest {
            partitions: Some(4),
            ack_level: Some(level.parse::<AckLevel>().map_err(anyhow::Error::msg)?),
            ..Default::default()
        };
        client.create_topic(topic, &request).await?;
    }
    for (topic, partitions) in [(NACKED.1, 2), (DEAD.1, 1)] {
        let request = CreateTopicRequest {
            partitions: Some(partitions),
            ack_level: Some(AckLevel::Leader),
            ..Default::default()
        };
        client.create_topic(topic, &request).await?;
    }
    let subscription = |topic: &str, kind| CreateSubscriptionRequest {
        topic: topic.to_owned(),
        kind: Some(kind),
        ack_deadline_seconds: Some(10),
        enable_message_ordering: Some(kind == SubscriptionType::Shared),
        start_position: Some(StartPosition::Earliest),
        ..Default::default()
    };
    for &(name, topic) in shared(cluster) {
        client
            .create_subscription(name, &subscription(topic, SubscriptionType::Shared))
            .await?;
    }
    let once = CreateSubscriptionRequest {
        delivery_mode: Some(DeliveryMode::ExactlyOnce),
        ..subscription(ONCE.1, SubscriptionType::Shared)
    };
    client.create_subscription(ONCE.0, &once).await?;
    client
        .create_subscription(
            GROUP.0,
            &subscription(GROUP.1, SubscriptionType::Partitioned),
        )
        .await?;
    let unordered = |topic: &str| CreateSubscriptionRequest {
        enable_message_ordering: Some(false),
        ..subscription(topic, SubscriptionType::Shared)
    };
    client
        .create_subscription(DEAD.0, &unordered(DEAD.1))
        .await?;
    let nacked = CreateSubscriptionRequest {
        dead_letter_policy: Some(DeadLetterPolicySpec {
            dead_letter_topic: DEAD.1.to_owned(),
            max_delivery_attempts: Some(DEAD_LETTER_ATTEMPTS),
        }),
        ..unordered(NACKED.1)
    };
    client.create_subscription(NACKED.0, &nacked).await?;
    Ok(())
}

/// Publisher `worker` to `(topic, level)`, one value per `pace`: unique
/// values `w<worker>-<n>`; when `keyed`, with the ordering key `k<worker>`
/// and the value as idempotency key, and an `info` outcome is retried with
/// the same key by a new process.
pub async fn publish(
    recorder: Arc<Recorder>,
    worker: u64,
    node: u64,
    (topic, level): (&'static str, &'static str),
    keyed: bool,
    pace: Duration,
) -> Result<()> {
    let client = client(node)?;
    let mut n = 0;
    while recorder.publishing() {
        n += 1;
        let value = format!("w{worker}-{n}");
        loop {
            let mut invoke = Event::publish(0, recorder.process(), topic, &value, level);
            invoke.node = Some(node);
            let mut message = PublishMessage {
                data: value.as_str().into(),
                ..Default::default()
            };
            let mut options = PublishOptions::default();
            if keyed {
                invoke.key = Some(format!("k{worker}"));
                invoke.idempotency_key = Some(value.clone());
                message.ordering_key = invoke.key.clone();
                options.idempotency_key = Some(value.clone());
            }
            let invoke = recorder.record(invoke);
            let request = PublishRequest {
                messages: vec![message],
            };
            let kind = match client.publish(topic, &request, &options).await {
                Ok(reply) => {
                    let mut done = invoke.completed(0, Kind::Ok);
                    done.partition = reply.partitions.first().copied();
                    done.offset = reply.offsets.first().copied();
                    done.ack_level = Some(reply.ack_level.to_string());
                    recorder.record(done);
                    Kind::Ok
                }
                Err(error) => {
                    let kind = classify(&error);
                    let mut done = invoke.completed(0, kind);
                    done.error = Some(describe(&error));
                    recorder.record(done);
                    kind
                }
            };
            if kind != Kind::Info || !keyed || !recorder.publishing() {
                if kind != Kind::Ok {
                    tokio::time::sleep(PACE * 3).await;
                }
                break;
            }
            tokio::time::sleep(PACE * 3).await;
        }
        tokio::time::sleep(pace).await;
    }
    Ok(())
}

/// Lists `s-nack`'s dead letters through `node`, recorded as a
/// `dead-letters` operation; returns the listed values (none on an error).
pub async fn list_dead_letters(recorder: &Recorder, node: u64) -> BTreeSet<String> {
    let mut invoke = Event::new(0, recorder.process(), Kind::Invoke, Op::DeadLetters);
    invoke.node = Some(node);
    invoke.subscription = Some(NACKED.0.to_owned());
    invoke.topic = Some(NACKED.1.to_owned());
    let invoke = recorder.record(invoke);
    let answer = match client(node) {
        Ok(client) => client.dead_letters(NACKED.0, Some(1_000)).await,
        Err(_) => return BTreeSet::new(),
    };
    match answer {
        Ok(listing) => {
            let mut done = invoke.completed(0, Kind::Ok);
            done.deliveries = listing
                .dead_letters
                .iter()
                .map(|letter| Delivery {
                    value: String::from_utf8_lossy(&letter.message.data.0).into_owned(),
                    partition: letter.message.partition,
                    offset: letter.message.offset,
                    attempt: letter.delivery_attempts,
                    epoch: None,
                    key: None,
                })
                .collect();
            let values = done.deliveries.iter().map(|d| d.value.clone()).collect();
            recorder.record(done);
            values
        }
        Err(error) => {
            let mut done = invoke.completed(0, classify(&error));
            done.error = Some(describe(&error));
            recorder.record(done);
            BTreeSet::new()
        }
    }
}

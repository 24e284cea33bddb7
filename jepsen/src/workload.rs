//! The workload: two topics (`q-leader` at ack level `leader`, `q-fsynced` at
//! `fsynced`, 4 partitions each), an ordered shared subscription on each and a
//! consumer group (`g-leader`) on the first; four publishers (per topic one
//! with ordering keys and idempotency keys, one with neither), two pullers per
//! shared subscription and two group members. Each worker talks to one node,
//! as a client bound to its nearest broker would.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use api::types::{
    AckLevel, CreateSubscriptionRequest, CreateTopicRequest, PublishMessage, PublishRequest,
    StartPosition, SubscriptionType,
};
use api::{Client, PublishOptions};

use crate::history::{Event, Kind};
use crate::net;
use crate::procs::CLIENT_PORT;
use crate::recorder::{Recorder, classify, describe};

/// The topics: name and ack level.
pub const TOPICS: [(&str, &str); 2] = [("q-leader", "leader"), ("q-fsynced", "fsynced")];
/// Shared subscriptions: name and topic.
pub const SHARED: [(&str, &str); 2] = [("s-leader", "q-leader"), ("s-fsynced", "q-fsynced")];
/// The consumer group's subscription and topic.
pub const GROUP: (&str, &str) = ("g-leader", "q-leader");
/// Time between one worker's publishes.
const PACE: Duration = Duration::from_millis(60);

/// A client of node `node`, waiting at most 5 s per request.
pub fn client(node: u64) -> Result<Client> {
    let url = format!("http://{}:{CLIENT_PORT}", net::address(node));
    Ok(Client::new(&url, Duration::from_secs(5))?)
}

/// Creates the topics and subscriptions through node 1.
pub async fn create(client: &Client) -> Result<()> {
    for (topic, level) in TOPICS {
        let request = CreateTopicRequest {
            partitions: Some(4),
            ack_level: Some(level.parse::<AckLevel>().map_err(anyhow::Error::msg)?),
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
    for (name, topic) in SHARED {
        client
            .create_subscription(name, &subscription(topic, SubscriptionType::Shared))
            .await?;
    }
    client
        .create_subscription(
            GROUP.0,
            &subscription(GROUP.1, SubscriptionType::Partitioned),
        )
        .await?;
    Ok(())
}

/// Publisher `worker`: unique values `w<worker>-<n>`; when `keyed`, with the
/// ordering key `k<worker>` and the value as idempotency key, and an `info`
/// outcome is retried with the same key by a new process.
pub async fn publish(recorder: Arc<Recorder>, worker: u64, node: u64, keyed: bool) -> Result<()> {
    let client = client(node)?;
    let (topic, level) = TOPICS[(worker % 2) as usize];
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
        tokio::time::sleep(PACE).await;
    }
    Ok(())
}

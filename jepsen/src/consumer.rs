//! Consumers: a puller of a shared subscription, or a consumer-group member
//! that joins, heartbeats, pulls as a member and joins again when the broker
//! forgot it. Every pull and ack is recorded; a pull's `ok` carries its
//! deliveries with partition, offset, attempt and the owner epoch of the ack id.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use api::types::{JoinGroupRequest, PullRequest, ReceivedMessage};
use api::{Client, ErrorCode};

use crate::history::{Delivery, Event, Kind, Op};
use crate::recorder::{Recorder, classify, describe};
use crate::workload::client;

/// A group member's identity and when it last heartbeat.
struct Membership {
    id: String,
    generation: u64,
    interval: Duration,
    beat: Instant,
}

/// One consumer worker.
pub struct Consumer {
    recorder: Arc<Recorder>,
    client: Client,
    node: u64,
    subscription: &'static str,
    topic: &'static str,
    group: bool,
    /// Nacks every delivery instead of acknowledging it.
    nack: bool,
    process: u64,
    member: Option<Membership>,
    /// Stops this consumer alone when set (between two pulls).
    stop: Option<Arc<AtomicBool>>,
    /// The pause after a failed pull.
    retry_pause: Duration,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("subscription", &self.subscription)
            .field("node", &self.node)
            .finish()
    }
}

fn delivery(received: &ReceivedMessage) -> Delivery {
    Delivery {
        value: String::from_utf8_lossy(&received.message.data.0).into_owned(),
        partition: received.message.partition,
        offset: received.message.offset,
        attempt: received.delivery_attempt,
        epoch: received
            .ack_id
            .rsplit('.')
            .next()
            .and_then(|e| e.parse().ok()),
        key: received.message.ordering_key.clone(),
    }
}

impl Consumer {
    pub fn new(
        recorder: Arc<Recorder>,
        node: u64,
        (subscription, topic): (&'static str, &'static str),
        group: bool,
    ) -> Result<Self> {
        let process = recorder.process();
        Ok(Self {
            recorder,
            client: client(node)?,
            node,
            subscription,
            topic,
            group,
            nack: false,
            process,
            member: None,
            stop: None,
            retry_pause: Duration::from_millis(200),
        })
    }

    /// This consumer nacking every delivery (the dead-letter workload).
    pub fn nacking(mut self) -> Self {
        self.nack = true;
        self
    }

    /// This consumer stopping also when `stop` is set, after its pull's ack.
    pub fn until(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// This consumer pausing `pause` after a failed pull (200 ms unless told).
    pub fn retrying_after(mut self, pause: Duration) -> Self {
        self.retry_pause = pause;
        self
    }

    fn consuming(&self) -> bool {
        self.recorder.consuming()
            && !self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    fn event(&self, kind: Kind, f: Op) -> Event {
        let mut event = Event::new(0, self.process, kind, f);
        event.node = Some(self.node);
        event.subscription = Some(self.subscription.to_owned());
        event.topic = Some(self.topic.to_owned());
        event.member = self.member.as_ref().map(|m| m.id.clone());
        event
    }

    /// Records a failed `invoke`; an unknown outcome retires the process.
    fn failed(&mut self, invoke: &Event, error: &api::ClientError) {
        let kind = classify(error);
        let mut done = invoke.completed(0, kind);
        done.error = Some(describe(error));
        self.recorder.record(done);
        if kind == Kind::Info {
            self.process = self.recorder.process();
        }
        if error
            .problem()
            .is_some_and(|p| p.code == ErrorCode::UnknownMember)
        {
            self.member = None;
        }
    }

    async fn join(&mut self) {
        let invoke = self.recorder.record(self.event(Kind::Invoke, Op::Join));
        let request = JoinGroupRequest {
            session_timeout_seconds: Some(6),
        };
        match self.client.join_group(self.subscription, &request).await {
            Ok(joined) => {
                let mut done = invoke.completed(0, Kind::Ok);
                done.member = Some(joined.member_id.clone());
                done.generation = Some(joined.generation);
                self.recorder.record(done);
                self.member = Some(Membership {
                    id: joined.member_id,
                    generation: joined.generation,
                    interval: Duration::from_secs(u64::from(
                        joined.heartbeat_interval_seconds.max(1),
                    )),
                    beat: Instant::now(),
                });
            }
            Err(error) => self.failed(&invoke, &error),
        }
    }

    async fn heartbeat(&mut self) {
        let Some(member) = &self.member else { return };
        if member.beat.elapsed() < member.interval {
            return;
        }
        match self
            .client
            .heartbeat(self.subscription, &member.id, member.generation)
            .await
        {
            Ok(beat) => {
                if let Some(member) = &mut self.member {
                    member.generation = beat.generation;
                    member.beat = Instant::now();
                }
            }
            Err(error)
                if error
                    .problem()
                    .is_some_and(|p| p.code == ErrorCode::UnknownMember) =>
            {
                self.member = None;
            }
            Err(_) => {}
        }
    }

    /// Pulls, records and acks until the recorder says stop.
    pub async fn run(mut self) -> Result<()> {
        while self.consuming() {
            if self.group {
                if self.member.is_none() {
                    self.join().await;
                    if self.member.is_none() {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        continue;
                    }
                }
                self.heartbeat().await;
            }
            self.pull_once().await;
        }
        if let Some(member) = self.member.take() {
            let _ = self.client.leave_group(self.subscription, &member.id).await;
        }
        Ok(())
    }

    async fn pull_once(&mut self) {
        let invoke = self.recorder.record(self.event(Kind::Invoke, Op::Pull));
        let request = PullRequest {
            max_messages: Some(50),
            wait_seconds: Some(1),
            member_id: self.member.as_ref().map(|m| m.id.clone()),
        };
        let received = match self.client.pull(self.subscription, &request).await {
            Ok(reply) => reply.received_messages,
            Err(error) => {
                self.failed(&invoke, &error);
                tokio::time::sleep(self.retry_pause).await;
                return;
            }
        };
        let mut done = invoke.completed(0, Kind::Ok);
        done.generation = received.first().and_then(|r| r.generation);
        done.deliveries = received.iter().map(delivery).collect();
        let delivered = self.recorder.record(done).deliveries;
        if received.is_empty() {
            return;
        }
        let ack_ids: Vec<String> = received.into_iter().map(|r| r.ack_id).collect();
        let answer = if self.nack {
            let mut invoke = self.event(Kind::Invoke, Op::Nack);
            invoke.deliveries = delivered;
            let invoke = self.recorder.record(invoke);
            (invoke, self.client.nack(self.subscription, ack_ids).await)
        } else {
            let mut invoke = self.event(Kind::Invoke, Op::Ack);
            invoke.deliveries = delivered;
            let invoke = self.recorder.record(invoke);
            (
                invoke,
                self.client.acknowledge(self.subscription, ack_ids).await,
            )
        };
        match answer {
            (invoke, Ok(_)) => {
                self.recorder.record(invoke.completed(0, Kind::Ok));
            }
            (invoke, Err(error)) => self.failed(&invoke, &error),
        }
    }
}

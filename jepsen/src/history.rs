//! The history of a run: one [`Event`] per operation's invocation and one per
//! its completion, plus the nemesis's own events, written as JSON lines to
//! `history.jsonl` in the order they happened.
//!
//! Completions follow Jepsen's convention: `ok` (it happened), `fail` (it
//! definitely did not happen: a problem answer whose code the API calls
//! definite, or no connection) and `info` (unknown: a timeout, a reset
//! connection, `504 OUTCOME_UNKNOWN`, `500 INTERNAL`). A process whose operation ended `info` is retired;
//! the worker goes on under a new process id, so each process has at most one
//! operation outstanding.

use serde::{Deserialize, Serialize};

use crate::cluster_view::ClusterView;

/// What an event records: an invocation, one of the three completions, or a
/// nemesis action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
    Nemesis,
}

/// The operation an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// One message published; `value` is unique in the run.
    Publish,
    /// A pull; its `ok` carries the deliveries.
    Pull,
    /// Acknowledging the deliveries of one pull; the invocation carries them.
    Ack,
    /// Nacking the deliveries of one pull; the invocation carries them.
    Nack,
    /// Listing a subscription's dead letters (`:deadLetters`); the `ok`
    /// carries them as deliveries (source partition and offset, attempts).
    DeadLetters,
    /// Joining a consumer group; its `ok` carries the member and generation.
    Join,
    /// Creating the topic `topic` (the metadata register of that name).
    Create,
    /// Deleting the topic `topic`.
    Delete,
    /// Reading the topic `topic` (`GET`); a `fail` says why (`404 …`).
    Read,
    /// `GET /v1/cluster` through `node`; its `ok` carries the view
    /// (`cluster`): voters, learners, nodes and partition owners.
    Cluster,
    /// A fault begins (`nemesis` names it).
    Start,
    /// A fault ends, or the heal phase undoes every fault.
    Stop,
    /// A phase of the run begins (`nemesis` names the phase).
    Phase,
}

/// One message as a pull returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub value: String,
    pub partition: u32,
    pub offset: u64,
    pub attempt: u32,
    /// The partition owner's epoch the message was leased under (from the ack id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the run began.
    pub time: u64,
    /// The client process (0 for the nemesis and the phases).
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub f: Op,
    /// The broker node the client talked to, or the nemesis's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// The published value (publish events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The ordering key (publish events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The topic's ack level: on a publish's invocation what the topic
    /// promises, on its `ok` what the reply said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The consumer-group member (pulls as a member, joins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// A pull's deliveries, or an ack's acknowledged deliveries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivery>,
    /// The fault or phase (nemesis, start, stop and phase events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<String>,
    /// Why an operation failed or is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cluster as `node` saw it (a `cluster` operation's `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterView>,
}

impl Event {
    /// An event with only the required fields; the builders below add the rest.
    pub fn new(time: u64, process: u64, kind: Kind, f: Op) -> Self {
        Self {
            time,
            process,
            kind,
            f,
            node: None,
            topic: None,
            subscription: None,
            value: None,
            key: None,
            idempotency_key: None,
            ack_level: None,
            partition: None,
            offset: None,
            epoch: None,
            member: None,
            generation: None,
            deliveries: Vec::new(),
            nemesis: None,
            error: None,
            cluster: None,
        }
    }

    /// A publish invocation of `value` to `topic` at `ack_level`.
    pub fn publish(time: u64, process: u64, topic: &str, value: &str, ack_level: &str) -> Self {
        let mut event = Self::new(time, process, Kind::Invoke, Op::Publish);
        event.topic = Some(topic.to_owned());
        event.value = Some(value.to_owned());
        event.ack_level = Some(ack_level.to_owned());
        event
    }

    /// This event turned into a completion of `kind` at `time`.
    pub fn completed(&self, time: u64, kind: Kind) -> Self {
        let mut event = self.clone();
        event.time = time;
        event.kind = kind;
        event
    }

    /// A pull completion by `process` on `subscription` with its deliveries.
    pub fn pulled(time: u64, process: u64, subscription: &str, deliveries: Vec<Delivery>) -> Self {
        let mut event = Self::new(time, process, Kind::Ok, Op::Pull);
        event.subscription = Some(subscription.to_owned());
        event.deliveries = deliveries;
        event
    }

    /// A nemesis or phase event naming `what`.
    pub fn nemesis(time: u64, f: Op, what: &str) -> Self {
        let mut event = Self::new(time, 0, Kind::Nemesis, f);
        event.nemesis = Some(what.to_owned());
        event
    }
}

/// A whole run's events, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub events: Vec<Event>,
}

impl History {
    pub fn new(events: Vec<Event>) -> Self {
        Self { events }
    }

    /// Parses `history.jsonl`.
    pub fn from_jsonl(text: &str) -> Result<Self, serde_json::Error> {
        let events = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        Ok(Self { events })
    }

    /// Writes the events as JSON lines.
    pub fn to_jsonl(&self) -> String {
        let mut text = String::new();
        for event in &self.events {
            text.push_str(&serde_json::to_string(event).unwrap_or_default());
            text.push('\n');
        }
        text
    }

    /// Completed pulls' deliveries with the pull event they came in.
    pub fn deliveries(&self) -> impl Iterator<Item = (&Event, &Delivery)> {
        self.events
            .iter()
            .filter(|e| e.f == Op::Pull && e.kind == Kind::Ok)
            .flat_map(|e| e.deliveries.iter().map(move |d| (e, d)))
    }

    /// Publish events of one completion kind.
    pub fn publishes(&self, kind: Kind) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(move |e| e.f == Op::Publish && e.kind == kind)
    }

    /// The time of the last event whose phase is `phase`, if there is one.
    pub fn phase_start(&self, phase: &str) -> Option<u64> {
        self.events
            .iter()
            .rev()
            .find(|e| e.f == Op::Phase && e.nemesis.as_deref() == Some(phase))
            .map(|e| e.time)
    }
}

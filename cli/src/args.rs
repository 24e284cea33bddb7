//! The command line: global flags, nouns and verbs; the parsers of flag values are in
//! [`values`], the consumer-group verbs in [`groups`], the cluster verbs in
//! [`cluster`], topic creation's in [`topics`], the load generator's flags in [`mod@bench`]; the flags several
//! commands share have their own files ([`list`], [`compression`]), so those
//! files import them from there and never from this one.
//!
//! Values are checked here, at the edge, so a bad `--attr`, `--priority` or `--ttl` is
//! a usage error (exit code 2) before any request is sent. Bounds that only the server
//! knows (backoff and attempt limits, nack delay) are left to it.

mod bench;
mod cluster;
mod compression;
mod groups;
mod list;
mod security;
mod topics;
mod values;

use std::path::PathBuf;

use api::duration::Duration;
use api::timestamp::Timestamp;
use api::types::{DeliveryMode, SeekRequest, StartPosition, SubscriptionType};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

pub use self::bench::{BenchArgs, PublishTransport, Transport};
pub use self::cluster::ClusterCommand;
pub use self::compression::CompressionArg;
pub use self::groups::{GroupsCommand, JoinGroupArgs};
pub use self::topics::CreateTopicArgs;
pub use self::values::{parse_attribute, parse_deliver_after, parse_duration, parse_ttl};
pub use self::{list::ListArgs, security::SecurityArgs};

/// Where clap lists the flags every command accepts.
const GLOBAL: &str = "Global options";

/// The command-line client of PubSubGo.
#[derive(Debug, Parser)]
#[command(name = "pubsub-cli", version, about, propagate_version = true)]
pub struct Cli {
    /// Base URL of a PubSubGo server's client API.
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "PUBSUB_SERVER",
        default_value = "http://localhost:8081"
    )]
    pub server: String,
    /// How results are printed: human tables, or the server's JSON for scripts.
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Seconds to wait for each HTTP request to complete.
    #[arg(long, global = true, help_heading = GLOBAL, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Send HTTP requests over HTTP/2 (prior knowledge): requests in flight share
    /// one connection instead of taking one each. WebSocket streams stay on HTTP/1.1.
    #[arg(long, global = true, help_heading = GLOBAL, env = "PUBSUB_HTTP2")]
    pub http2: bool,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables and short sentences for people.
    Table,
    /// Pretty-printed JSON as the server sends it (one compact object per line for `subscribe`).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, inspect and delete topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Publish messages to a topic.
    Publish(PublishArgs),
    /// Create, inspect and delete subscriptions.
    #[command(subcommand)]
    Subscriptions(SubscriptionsCommand),
    /// Pull messages from a subscription once.
    Pull(PullArgs),
    /// Acknowledge messages, so they are not delivered again.
    Ack(AckIdsArgs),
    /// Negatively acknowledge messages, so they are delivered again.
    Nack(NackArgs),
    /// Stream messages from a subscription over WebSocket until stopped.
    Subscribe(SubscribeArgs),
    /// Inspect consumer groups (partitioned subscriptions) and consume as a member.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// List and redrive a subscription's dead-lettered messages.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Load a broker with stamped messages; report throughput, latency, lost and duplicates.
    Bench(BenchArgs),
    /// Inspect the cluster, rebalance partition owners, remove a node.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// List every topic.
    List(ListArgs),
    /// Create a topic.
    Create(CreateTopicArgs),
    /// Show a topic's settings and statistics.
    Get(NameArg),
    /// Delete a topic.
    Delete(NameArg),
    /// Show what a topic has seen: messages, bytes, offsets and subscription backlogs.
    Stats(NameArg),
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// List every subscription.
    List(ListArgs),
    /// Create a subscription on a topic.
    Create(CreateSubscriptionArgs),
    /// Show a subscription's settings, backlog and outstanding messages.
    Get(NameArg),
    /// Delete a subscription.
    Delete(NameArg),
    /// Move a subscription to a point in time, or to the start or end of its topic.
    Seek(SeekArgs),
    /// Let an ordering key parked behind a dead-lettered message flow again.
    ResumeKey(ResumeKeyArgs),
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List the messages a subscription dead-lettered, oldest partition and offset first.
    List(DlqListArgs),
    /// Deliver dead-lettered messages again, to this subscription only, from attempt 1.
    Redrive(RedriveArgs),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Name of the topic or subscription.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The topic to publish to.
    pub topic: String,
    /// The payload, as text. Without --data or --file the payload is read from stdin.
    #[arg(long, conflicts_with = "file")]
    pub data: Option<String>,
    /// Read the payload from this file.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// An attribute, `key=value`; repeat for more.
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
    /// Ordering key: messages with the same key keep their order.
    #[arg(long = "key", value_name = "ORDERING_KEY")]
    pub ordering_key: Option<String>,
    /// 0 (lowest) to 9 (highest); the server's default is 4.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=i64::from(api::limits::MAX_PRIORITY)))]
    pub priority: Option<u8>,
    /// Hold the message back this long before its first delivery, in seconds like `30s`
    /// (at most `604800s`, 7 days).
    #[arg(long, value_name = "DURATION", value_parser = parse_deliver_after)]
    pub deliver_after: Option<Duration>,
    /// Never deliver the message once this long has passed since publishing, in seconds
    /// (one hour is `3600s`).
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub ttl: Option<Duration>,
    /// Makes a retry safe; with several batches, batch i uses `KEY-i`.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Compress request bodies.
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,
    /// How many copies of the message to publish.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Most messages per request.
    #[arg(long = "batch", value_name = "N", default_value_t = api::limits::MAX_BATCH_MESSAGES as u64,
          value_parser = clap::value_parser!(u64).range(1..=api::limits::MAX_BATCH_MESSAGES as u64))]
    pub batch_size: u64,
}

#[derive(Debug, Args)]
pub struct CreateSubscriptionArgs {
    /// Name of the new subscription.
    pub name: String,
    /// The topic to subscribe to.
    #[arg(long)]
    pub topic: String,
    /// How consumers share the messages (the server's default is shared).
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub kind: Option<SubscriptionTypeArg>,
    /// Seconds a delivered message stays leased before redelivery (10 to 600).
    #[arg(long, value_name = "SECONDS")]
    pub ack_deadline: Option<u32>,
    /// Deliver messages with the same ordering key in publish order.
    #[arg(long)]
    pub ordering: bool,
    /// Where the subscription starts reading.
    #[arg(long, value_enum)]
    pub start: Option<StartArg>,
    /// Wait after a message's first failure (nack or expired deadline), like `10s`; the
    /// wait doubles per attempt up to --max-backoff. Without either flag, failed messages
    /// are delivered again at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub min_backoff: Option<Duration>,
    /// Longest wait between deliveries of a failing message, like `600s`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_backoff: Option<Duration>,
    /// Existing topic that receives a copy of each message that failed too often.
    #[arg(long, value_name = "TOPIC")]
    pub dead_letter_topic: Option<String>,
    /// Deliveries before a message is dead-lettered (the server allows 5 to 100, default 5).
    #[arg(long, value_name = "N", requires = "dead_letter_topic")]
    pub max_delivery_attempts: Option<u32>,
    /// What an acknowledgement promises.
    #[arg(long, value_enum)]
    pub delivery_mode: Option<DeliveryModeArg>,
    /// Make it a push subscription: the broker POSTs each message to this http:// URL.
    #[arg(long, value_name = "URL")]
    pub push_endpoint: Option<String>,
    /// Most push requests in flight at once (the server allows 1 to 1000, default 100).
    #[arg(long, value_name = "N", requires = "push_endpoint")]
    pub push_max_outstanding: Option<u32>,
    /// Key of the X-PubSubGo-Signature header (HMAC-SHA256 of each request body).
    #[arg(long, value_name = "SECRET", requires = "push_endpoint")]
    pub push_secret: Option<String>,
}

/// How the consumers of a subscription share its messages, by the server's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubscriptionTypeArg {
    /// Competing consumers: each message is leased to one of them at a time.
    Shared,
    /// A consumer group: members join (`groups join`) and each partition is delivered
    /// to one member at a time, in order.
    Partitioned,
}

impl From<SubscriptionTypeArg> for SubscriptionType {
    fn from(arg: SubscriptionTypeArg) -> Self {
        match arg {
            SubscriptionTypeArg::Shared => SubscriptionType::Shared,
            SubscriptionTypeArg::Partitioned => SubscriptionType::Partitioned,
        }
    }
}

/// What an acknowledgement promises, by the server's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[expect(
    clippy::enum_variant_names,
    reason = "clap derives the flag values from the variants: at-most-once and so on"
)]
pub enum DeliveryModeArg {
    /// Acknowledged on delivery; never delivered again.
    AtMostOnce,
    /// Delivered again until acknowledged (the default).
    AtLeastOnce,
    /// Like at-least-once, and an ack of an expired lease or an old attempt is refused.
    ExactlyOnce,
}

impl From<DeliveryModeArg> for DeliveryMode {
    fn from(arg: DeliveryModeArg) -> Self {
        match arg {
            DeliveryModeArg::AtMostOnce => DeliveryMode::AtMostOnce,
            DeliveryModeArg::AtLeastOnce => DeliveryMode::AtLeastOnce,
            DeliveryModeArg::ExactlyOnce => DeliveryMode::ExactlyOnce,
        }
    }
}

/// Exactly one of `--time`, `--earliest` and `--latest`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["time", "earliest", "latest"])))]
pub struct SeekArgs {
    /// The subscription to move.
    pub subscription: String,
    /// Messages published before this RFC 3339 time count as acknowledged, later ones as
    /// never delivered.
    #[arg(long, value_name = "RFC3339")]
    pub time: Option<Timestamp>,
    /// Deliver every message the topic still retains again.
    #[arg(long)]
    pub earliest: bool,
    /// Skip everything published so far.
    #[arg(long)]
    pub latest: bool,
}

impl SeekArgs {
    /// The request body; clap's group guarantees exactly one target is set.
    pub fn request(&self) -> SeekRequest {
        let position = if self.earliest {
            Some(StartPosition::Earliest)
        } else if self.latest {
            Some(StartPosition::Latest)
        } else {
            None
        };
        SeekRequest {
            time: self.time.map(|time| time.to_string()),
            position,
        }
    }
}

#[derive(Debug, Args)]
pub struct ResumeKeyArgs {
    /// The subscription whose ordering key is parked.
    pub subscription: String,
    /// The parked ordering key, as `subscriptions get` lists it.
    pub ordering_key: String,
}

#[derive(Debug, Args)]
pub struct DlqListArgs {
    /// The subscription whose dead letters to list.
    pub subscription: String,
    /// Most dead letters to show (the server's default is 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max: Option<u32>,
}

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The subscription the messages were dead-lettered from.
    pub subscription: String,
    /// Most messages to redrive (the server's default is 1000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max: Option<u32>,
    /// Only messages dead-lettered after at least this many attempts.
    #[arg(long, value_name = "N")]
    pub min_attempts: Option<u32>,
    /// Only messages published at or after this RFC 3339 time.
    #[arg(long, value_name = "RFC3339")]
    pub published_after: Option<Timestamp>,
    /// Only messages published before this RFC 3339 time.
    #[arg(long, value_name = "RFC3339")]
    pub published_before: Option<Timestamp>,
    /// Most messages made deliverable per second per partition (the server's default is 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
}

/// Where a new subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartArg {
    /// Only messages published from now on.
    Latest,
    /// Every message the topic still retains.
    Earliest,
}

impl From<StartArg> for StartPosition {
    fn from(arg: StartArg) -> Self {
        match arg {
            StartArg::Latest => StartPosition::Latest,
            StartArg::Earliest => StartPosition::Earliest,
        }
    }
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The subscription to pull from.
    pub subscription: String,
    /// Most messages to return (1 to 1000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(api::limits::MAX_PULL_MESSAGES)))]
    pub max: Option<u32>,
    /// Seconds to wait for a first message when none is ready (0 to 60).
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u32).range(0..=i64::from(api::limits::MAX_PULL_WAIT_SECONDS)))]
    pub wait: Option<u32>,
    /// Acknowledge the pulled messages after printing them.
    #[arg(long)]
    pub ack: bool,
    /// Pull as this member of a partitioned subscription's group: only its partitions
    /// are served. Required on a partitioned subscription, refused on a shared one.
    #[arg(long = "member", value_name = "MEMBER_ID")]
    pub member_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct AckIdsArgs {
    /// The subscription the messages were pulled from.
    pub subscription: String,
    /// Ack ids as printed by `pull`.
    #[arg(required = true, num_args = 1.., value_name = "ACK_ID")]
    pub ack_ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NackArgs {
    #[command(flatten)]
    pub messages: AckIdsArgs,
    /// Seconds to wait before delivering them again, instead of the subscription's backoff.
    #[arg(long, value_name = "SECONDS")]
    pub delay: Option<u32>,
    /// Why processing failed; kept with a message that is dead-lettered.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// The subscription to stream from.
    pub subscription: String,
    /// Most messages held unacknowledged at once (the stream's flow-control window).
    #[arg(long, default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(api::limits::MAX_STREAM_CREDIT)))]
    pub credit: u32,
    /// Stop after this many messages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_messages: Option<u64>,
    /// Print messages without acknowledging them; they are redelivered after their deadline.
    #[arg(long)]
    pub no_ack: bool,
}

#[cfg(test)]
mod tests;

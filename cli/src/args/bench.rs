//! `bench`: load a broker with stamped messages and measure throughput and latency.

use clap::{Args, ValueEnum};

use super::compression::CompressionArg;

/// Messages published when neither --messages nor --duration is given.
pub const DEFAULT_MESSAGES: u64 = 100_000;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Concurrent publishers, each with its own connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub producers: u32,
    /// Concurrent consumers on one shared subscription.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub consumers: u32,
    /// Messages to publish in all, split evenly among the producers [default: 100000].
    #[arg(long, value_name = "N", conflicts_with = "duration",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: Option<u64>,
    /// Publish for this many seconds instead of a fixed count.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: Option<u64>,
    /// Bytes per message, including the 24-byte header that stamps it.
    #[arg(long, value_name = "BYTES", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(bench::payload::HEADER_BYTES as u64..=api::limits::MAX_BATCH_BYTES as u64))]
    pub size: u64,
    /// Publish requests in flight per producer.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub window: u32,
    /// Messages per publish request.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=api::limits::MAX_BATCH_MESSAGES as i64))]
    pub batch: u32,
    /// Compress publish request bodies.
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,
    /// How consumers receive: long-polling pulls, or a WebSocket stream with credit.
    #[arg(long, value_enum, default_value_t = Transport::Pull)]
    pub transport: Transport,
    /// How producers publish: one HTTP request per batch, or a `:publishStream`
    /// WebSocket per producer with --window publishes in flight.
    #[arg(long, value_enum, default_value_t = PublishTransport::Http)]
    pub publish_transport: PublishTransport,
    /// Frames on the WebSockets (`--transport stream`, `--publish-transport stream`):
    /// JSON text, or binary (raw payloads, one frame per delivered lease).
    #[arg(long, value_enum, default_value_t = EncodingArg::Json)]
    pub encoding: EncodingArg,
    /// An existing topic to publish to; by default a new one is made and deleted after.
    #[arg(long)]
    pub topic: Option<String>,
    /// An existing shared subscription to consume from (on --topic, with nothing
    /// pending); by default a new one is made and deleted after.
    #[arg(long, requires = "topic")]
    pub subscription: Option<String>,
    /// Partitions of the topic the bench creates.
    #[arg(long, default_value_t = 4, conflicts_with = "topic",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: u32,
    /// Servers to spread the load over, e.g. the nodes of a cluster (repeat the flag
    /// or separate URLs with commas): producers, then consumers, take them in turn,
    /// and the topic and subscription are made and removed through the first. By
    /// default everything goes to --server.
    #[arg(long = "servers", value_name = "URL", value_delimiter = ',')]
    pub servers: Vec<String>,
}

impl BenchArgs {
    /// Messages to publish, or `None` when the run is bounded by --duration.
    pub fn message_count(&self) -> Option<u64> {
        match (self.messages, self.duration) {
            (_, Some(_)) => None,
            (messages, None) => Some(messages.unwrap_or(DEFAULT_MESSAGES)),
        }
    }

    /// The server the `client`-th client talks to (producers are clients
    /// `0..producers`, consumers the ones after): --servers in turn, or `default`
    /// (--server) when none are given.
    pub fn server_for<'a>(&'a self, client: u32, default: &'a str) -> &'a str {
        match self.servers.len() {
            0 => default,
            n => &self.servers[client as usize % n],
        }
    }
}

/// How bench consumers receive messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// `:pull` with a long poll, then `:acknowledge`, over HTTP.
    Pull,
    /// `:stream` over WebSocket, credit = --window, acks on the socket.
    Stream,
}

/// How bench producers publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublishTransport {
    /// `POST :publish`, one request per batch.
    Http,
    /// `:publishStream` over WebSocket, answers pipelined.
    Stream,
}

impl PublishTransport {
    pub fn name(self) -> &'static str {
        match self {
            PublishTransport::Http => "http",
            PublishTransport::Stream => "stream",
        }
    }
}

/// WebSocket frame encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    Json,
    Binary,
}

impl EncodingArg {
    pub fn name(self) -> &'static str {
        api::stream::Encoding::from(self).name()
    }
}

impl From<EncodingArg> for api::stream::Encoding {
    fn from(arg: EncodingArg) -> Self {
        match arg {
            EncodingArg::Json => api::stream::Encoding::Json,
            EncodingArg::Binary => api::stream::Encoding::Binary,
        }
    }
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Pull => "pull",
            Transport::Stream => "stream",
        }
    }
}

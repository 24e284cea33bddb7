//! `compare`: the peers' side of the comparison in issue 7, and the page that puts
//! every system side by side.
//!
//! - `compare run --system redis-streams|nats-jetstream|rabbitmq …` loads one peer the
//!   way `pubsub-cli bench` loads PubSubGo ([`load`], [`peers`]) and writes one result
//!   file: the [`bench::Report`], or why the peer was skipped or failed.
//! - `compare report` reads every result file of a run ([`results`], [`cpu`],
//!   [`memory`]) and writes `BENCHMARKS.md` ([`markdown`]), with the targets of issue 7
//!   and of issue 18 ([`issue18`]) as [`targets_table`]s.
//!
//! `run.sh` beside this project drives both, and runs `pubsub-cli bench` itself.

mod cpu;
mod issue18;
mod load;
mod markdown;
mod memory;
mod peers;
mod results;
mod rounds;
mod targets_table;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use bench::{Report, Workload};
use clap::{Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::load::{Peer, Plan};

#[derive(Debug, Parser)]
#[command(name = "compare", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one workload against one peer and write its result file.
    Run(RunArgs),
    /// Write BENCHMARKS.md from a directory of result files.
    Report(markdown::ReportArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[arg(long, value_enum)]
    system: System,
    /// The peer's address; each system has its default on this machine.
    #[arg(long)]
    url: Option<String>,
    #[arg(long, default_value_t = 1)]
    producers: u32,
    #[arg(long, default_value_t = 1)]
    consumers: u32,
    #[arg(long)]
    messages: u64,
    #[arg(long, default_value_t = 256)]
    size: usize,
    #[arg(long, default_value_t = 1)]
    window: u32,
    /// The peer's version when its client cannot ask (RabbitMQ).
    #[arg(long)]
    version: Option<String>,
    /// Where to write the result.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum System {
    RedisStreams,
    NatsJetstream,
    Rabbitmq,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::RedisStreams => "redis-streams",
            System::NatsJetstream => "nats-jetstream",
            System::Rabbitmq => "rabbitmq",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            System::RedisStreams => "redis://127.0.0.1:6379/",
            System::NatsJetstream => "nats://127.0.0.1:4222",
            System::Rabbitmq => "amqp://guest:guest@127.0.0.1:5672/%2f",
        }
    }

    fn setup(self) -> &'static [(&'static str, &'static str)] {
        match self {
            System::RedisStreams => &[
                ("commands", "XADD pipelined / XREADGROUP / XACK"),
                ("persistence", "as the server is configured"),
            ],
            System::NatsJetstream => &[
                ("storage", "file, R1"),
                ("consumer", "durable pull, explicit ack"),
            ],
            System::Rabbitmq => &[
                ("queue", "quorum, durable"),
                ("acks", "publisher confirms, manual acks, prefetch = window"),
            ],
        }
    }
}

/// One result file: a measurement, or why there is none.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    NotMeasured { status: Status, reason: String },
    Measured(Box<Report>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The peer was not reachable: nothing was run.
    Skipped,
    /// The run started and broke.
    Failed,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => {
            let entry = run(&args).await;
            if let Entry::NotMeasured { status, reason } = &entry {
                eprintln!("{}: {status:?}: {reason}", args.system.name());
            }
            let json = serde_json::to_string_pretty(&entry)?;
            std::fs::write(&args.out, json)
                .with_context(|| format!("writing {}", args.out.display()))
        }
        Command::Report(args) => markdown::write(&args),
    }
}

async fn run(args: &RunArgs) -> Entry {
    let url = args.url.as_deref().unwrap_or(args.system.default_url());
    let plan = Plan {
        producers: args.producers,
        consumers: args.consumers,
        messages: args.messages,
        size: args.size,
        window: args.window,
    };
    let workload = Workload {
        producers: args.producers,
        consumers: args.consumers,
        messages: Some(args.messages),
        duration_seconds: None,
        size_bytes: args.size,
        window: args.window,
        batch: 1,
        setup: args
            .system
            .setup()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    eprintln!("{}", workload.describe(args.system.name()));
    // A peer that cannot be reached is skipped; one that breaks later has failed.
    let connected = match args.system {
        System::RedisStreams => peers::redis_streams::RedisStreams::connect(url, args.window)
            .await
            .map(|(peer, version)| Connected::Redis(Arc::new(peer), version)),
        System::NatsJetstream => peers::jetstream::JetStream::connect(url, args.window)
            .await
            .map(|(peer, version)| Connected::Nats(Arc::new(peer), version)),
        System::Rabbitmq => peers::rabbitmq::RabbitMq::connect(url, args.window)
            .await
            .map(|peer| Connected::Rabbit(Arc::new(peer))),
    };
    let connected = match connected {
        Ok(connected) => connected,
        Err(error) => {
            return Entry::NotMeasured {
                status: Status::Skipped,
                reason: format!("not reachable at {url}: {error:#}"),
            };
        }
    };
    let (measured, version) = match connected {
        Connected::Redis(peer, version) => (measure(peer, plan, workload).await, version),
        Connected::Nats(peer, version) => (measure(peer, plan, workload).await, version),
        Connected::Rabbit(peer) => (
            measure(peer, plan, workload).await,
            args.version.clone().unwrap_or_else(|| "unknown".to_owned()),
        ),
    };
    match measured {
        Ok(mut report) => {
            report.system = args.system.name().to_owned();
            report.version = version;
            eprintln!("{}", report.render());
            Entry::Measured(Box::new(report))
        }
        Err(error) => Entry::NotMeasured {
            status: Status::Failed,
            reason: format!("{error:#}"),
        },
    }
}

enum Connected {
    Redis(Arc<peers::redis_streams::RedisStreams>, String),
    Nats(Arc<peers::jetstream::JetStream>, String),
    Rabbit(Arc<peers::rabbitmq::RabbitMq>),
}

async fn measure<P: Peer>(peer: Arc<P>, plan: Plan, workload: Workload) -> anyhow::Result<Report> {
    load::run(peer, plan, workload).await
}

//! Settings of `pubsubgo-server`.
//!
//! Each setting comes from, in order of precedence: a command-line flag, a
//! `PUBSUB_*` environment variable, the YAML file given with `-c/--config`, and
//! the default. An unknown key in the file is an error naming the key.
//! `deployments/config.yaml` is a commented example with every key.
//!
//! **Storage choice.** `storage.kind` (`PUBSUB_STORAGE`, `--storage`) chooses the
//! backend. When it is not set anywhere but some Redis setting is
//! (`PUBSUB_REDIS_HOST`, `PUBSUB_REDIS_PASSWORD`, any `storage.redis` key, …),
//! the storage is Redis: settings that name a Redis server mean the operator
//! wants messages kept there, and falling back to memory would lose every
//! message on restart without a word. Memory with Redis settings present takes
//! an explicit `PUBSUB_STORAGE=memory`.
//!
//! **The seed's spelling.** `-config FILE` (one dash, as Go flags are written)
//! means `--config FILE`; see [`accept_single_dash_config`].
//!
//! ```yaml
//! server:  { host: 0.0.0.0, port: 8081, shutdown_grace_seconds: 30 }
//! metrics: { enabled: true, port: 9092 }
//! grpc:    { enabled: true, port: 8085 }   # see [`grpc`]
//! storage:
//!   kind: redis
//!   redis: { url: "redis://redis:6379" }   # or cluster_nodes: "n1:7000,n2:7001"
//! log:     { format: text, level: info, access: true }
//! tracing: { enabled: true, otlp_endpoint: "http://otel-collector:4318/v1/traces" }   # see [`tracing`]
//! memory:  { limit_bytes: 1073741824, high_watermark: 0.9, low_watermark: 0.8 }   # see [`overload`]
//! streams: { write_timeout_seconds: 10 }
//! cluster:
//!   node_id: 1
//!   data_dir: ./data
//!   peer_port: 8082
//!   peers: "1=node-1:8082,2=node-2:8082,3=node-3:8082"   # see [`cluster`]
//!   bootstrap_expect: 3
//!   owner_timeout_seconds: 10
//!   peer_max_in_flight: 256
//! rebalance: { auto: true, moves_per_second: 20, cooldown_seconds: 30 }   # see [`rebalance`]
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Deserialize;

mod cluster;
mod command_line;
mod error;
pub mod grpc;
pub mod overload;
pub mod rebalance;
mod redis;
pub mod security;
#[cfg(test)]
mod tests;
pub mod tracing;

use self::cluster::ClusterInputs;
pub use self::cluster::{ClusterSettings, DEFAULT_OWNER_TIMEOUT, NodeIdSetting, parse_peers};
pub use self::command_line::{Command, accept_single_dash_config};
pub use self::error::ConfigError;
use self::grpc::{GrpcArgs, GrpcSection};
use self::overload::{MemorySection, OverloadArgs, OverloadSettings, StreamsSection};
use self::rebalance::{RebalanceArgs, RebalanceSection, RebalanceSettings};
use self::security::{AuthSection, LimitsSection, SecurityArgs, SecuritySettings, TlsSection};
use self::tracing::{TracingArgs, TracingSection, TracingSettings};
use crate::storage::redis::RedisSettings;

use self::redis::{RedisSection, redis_settings};
use crate::telemetry::logging::LogFormat;

/// Where messages are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// In this process's memory; lost on exit. For development and tests.
    #[default]
    Memory,
    /// Redis (standalone or Cluster): survives broker restarts.
    Redis,
}

/// The storage backend with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    Memory,
    Redis(RedisSettings),
}

impl StorageConfig {
    pub fn kind(&self) -> StorageKind {
        match self {
            StorageConfig::Memory => StorageKind::Memory,
            StorageConfig::Redis(_) => StorageKind::Redis,
        }
    }
}

/// Command-line flags; each also reads its environment variable.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "pubsubgo-server", version, about = "PubSubGo message broker")]
pub struct Args {
    /// What to run instead of the broker.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// YAML configuration file.
    #[arg(short = 'c', long, env = "PUBSUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on for clients and metrics [default: 0.0.0.0].
    #[arg(long, env = "PUBSUB_SERVER_HOST")]
    pub host: Option<IpAddr>,
    /// Client HTTP and WebSocket port [default: 8081].
    #[arg(long, env = "PUBSUB_SERVER_PORT")]
    pub port: Option<u16>,
    /// Serve Prometheus metrics [default: true].
    #[arg(long, env = "PUBSUB_METRICS_ENABLED")]
    pub metrics_enabled: Option<bool>,
    /// Metrics port [default: 9092].
    #[arg(long, env = "PUBSUB_METRICS_PORT")]
    pub metrics_port: Option<u16>,
    /// Message storage [default: memory].
    #[arg(long, env = "PUBSUB_STORAGE")]
    pub storage: Option<StorageKind>,
    /// Standalone Redis URL, e.g. `redis://:secret@redis:6379/0` (instead of host and port).
    #[arg(long, env = "PUBSUB_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Standalone Redis host [default: 127.0.0.1].
    #[arg(long, env = "PUBSUB_REDIS_HOST")]
    pub redis_host: Option<String>,
    /// Standalone Redis port [default: 6379].
    #[arg(long, env = "PUBSUB_REDIS_PORT")]
    pub redis_port: Option<u16>,
    /// Redis password (standalone or every cluster node).
    #[arg(long, env = "PUBSUB_REDIS_PASSWORD", hide_env_values = true)]
    pub redis_password: Option<String>,
    /// Redis Cluster seed nodes, comma-separated `host:port` (selects cluster mode).
    #[arg(long, env = "PUBSUB_REDIS_CLUSTER_NODES")]
    pub redis_cluster_nodes: Option<String>,
    /// Prefix of every Redis key [default: ps].
    #[arg(long, env = "PUBSUB_REDIS_KEY_PREFIX")]
    pub redis_key_prefix: Option<String>,
    /// Milliseconds to wait for a Redis connection [default: 1000].
    #[arg(long, env = "PUBSUB_REDIS_CONNECT_TIMEOUT_MILLIS")]
    pub redis_connect_timeout_millis: Option<u64>,
    /// Milliseconds to wait for a Redis reply [default: 2000].
    #[arg(long, env = "PUBSUB_REDIS_RESPONSE_TIMEOUT_MILLIS")]
    pub redis_response_timeout_millis: Option<u64>,
    /// PEM CA file a `rediss://` server's certificate must chain to (else the system's trust store).
    #[arg(long, env = "PUBSUB_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// Connections to a standalone Redis, each partition's calls on one [default: 2].
    #[arg(long, env = "PUBSUB_REDIS_CONNECTIONS")]
    pub redis_connections: Option<usize>,
    /// Log format [default: text].
    #[arg(long, env = "PUBSUB_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `node=debug,info` [default: info,openraft=warn].
    #[arg(long, env = "PUBSUB_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Seconds to let requests and streams finish on shutdown [default: 30].
    #[arg(long, env = "PUBSUB_SHUTDOWN_GRACE_SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,
    /// Threads that run requests, streams and storage calls [default: one per
    /// CPU the process may use].
    #[arg(long, env = "PUBSUB_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
    /// This node's id in the metadata Raft group: a number, or a StatefulSet
    /// pod name whose ordinal is the id (`pubsubgo-2` is 2) [default: 0].
    #[arg(long, env = "PUBSUB_NODE_ID", value_parser = NodeIdSetting::parse_id)]
    pub node_id: Option<u64>,
    /// Where the Raft log and snapshots of the metadata live [default: ./data].
    #[arg(long, env = "PUBSUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Peer port: Raft RPC and forwarded storage calls between nodes [default: 8082].
    #[arg(long, env = "PUBSUB_PEER_PORT")]
    pub peer_port: Option<u16>,
    /// The cluster's nodes as `id=host:port` (peer ports), comma-separated;
    /// empty for a single node.
    #[arg(long, env = "PUBSUB_PEERS")]
    pub peers: Option<String>,
    /// The address other nodes reach this node's peer port at, when the peer
    /// list does not name this node.
    #[arg(long, env = "PUBSUB_ADVERTISE_ADDR")]
    pub advertise_addr: Option<String>,
    /// How many of the lowest listed ids form the cluster on first start
    /// [default: all listed nodes]; the others join it.
    #[arg(long, env = "PUBSUB_BOOTSTRAP_EXPECT")]
    pub bootstrap_expect: Option<usize>,
    /// Seconds a silent node keeps its partitions before they move [default: 10].
    #[arg(long, env = "PUBSUB_OWNER_TIMEOUT_SECONDS")]
    pub owner_timeout_seconds: Option<u64>,
    /// Storage calls (and, separately, watches) one node may have in flight
    /// on another's peer port: the caller holds more back until one finishes
    /// (up to the call's timeout), the owner refuses more with 503
    /// [default: 256].
    #[arg(long, env = "PUBSUB_PEER_MAX_IN_FLIGHT")]
    pub peer_max_in_flight: Option<usize>,
    #[command(flatten)]
    pub grpc: GrpcArgs,
    #[command(flatten)]
    pub overload: OverloadArgs,
    #[command(flatten)]
    pub rebalance: RebalanceArgs,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub tracing: TracingArgs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    grpc: GrpcSection,
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    cluster: ClusterSection,
    #[serde(default)]
    rebalance: RebalanceSection,
    #[serde(default)]
    memory: MemorySection,
    #[serde(default)]
    streams: StreamsSection,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    tracing: TracingSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSection {
    node_id: Option<NodeIdSetting>,
    data_dir: Option<PathBuf>,
    peer_port: Option<u16>,
    peers: Option<String>,
    advertise_addr: Option<String>,
    bootstrap_expect: Option<usize>,
    owner_timeout_seconds: Option<u64>,
    peer_max_in_flight: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    host: Option<IpAddr>,
    port: Option<u16>,
    shutdown_grace_seconds: Option<u64>,
    worker_threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    enabled: Option<bool>,
    port: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    kind: Option<StorageKind>,
    #[serde(default)]
    redis: RedisSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    format: Option<LogFormat>,
    level: Option<String>,
    access: Option<bool>,
}

/// Log filter when none is set: our own events at info, and openraft's at warn
/// (its info events narrate every election and shutdown step).
pub const DEFAULT_LOG_FILTER: &str = "info,openraft=warn";

/// The resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub client_addr: SocketAddr,
    /// `None` when metrics are disabled.
    pub metrics_addr: Option<SocketAddr>,
    /// Google Pub/Sub's gRPC API; `None` when it is off.
    pub grpc_addr: Option<SocketAddr>,
    pub storage: StorageConfig,
    pub log_format: LogFormat,
    pub log_level: String,
    pub shutdown_grace: Duration,
    /// The async runtime's worker threads; `None`: one per CPU this process
    /// may use (the runtime's default).
    pub worker_threads: Option<usize>,
    pub cluster: ClusterSettings,
    pub rebalance: RebalanceSettings,
    pub overload: OverloadSettings,
    pub security: SecuritySettings,
    pub tracing: TracingSettings,
}

impl Config {
    /// Resolves flags (already merged with the environment by clap) over the file.
    pub fn resolve(args: Args) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let host = args
            .host
            .or(file.server.host)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let port = args.port.or(file.server.port).unwrap_or(8081);
        let metrics_enabled = args
            .metrics_enabled
            .or(file.metrics.enabled)
            .unwrap_or(true);
        let metrics_port = args.metrics_port.or(file.metrics.port).unwrap_or(9092);
        let redis = RedisSection {
            url: args.redis_url.clone(),
            host: args.redis_host.clone(),
            port: args.redis_port,
            password: args.redis_password.clone(),
            cluster_nodes: args.redis_cluster_nodes.clone(),
            key_prefix: args.redis_key_prefix.clone(),
            connect_timeout_millis: args.redis_connect_timeout_millis,
            response_timeout_millis: args.redis_response_timeout_millis,
            ca_file: args.redis_ca_file.clone(),
            connections: args.redis_connections,
        }
        .over(file.storage.redis);
        let kind = args
            .storage
            .or(file.storage.kind)
            .or(redis.names_redis().then_some(StorageKind::Redis))
            .unwrap_or_default();
        let storage = match kind {
            StorageKind::Memory => StorageConfig::Memory,
            StorageKind::Redis => StorageConfig::Redis(redis_settings(redis)?),
        };
        let peer_port = args.peer_port.or(file.cluster.peer_port).unwrap_or(8082);
        if peer_port != 0 && (peer_port == port || (metrics_enabled && peer_port == metrics_port)) {
            return Err(ConfigError::Invalid(format!(
                "the peer port {peer_port} is also the client or metrics port; choose different ports"
            )));
        }
        if metrics_enabled && metrics_port == port && port != 0 {
            return Err(ConfigError::Invalid(format!(
                "the metrics port and the client port are both {port}; choose different ports"
            )));
        }
        let overload = OverloadSettings::resolve(&args.overload, file.memory, file.streams)?;
        let rebalance = RebalanceSettings::resolve(&args.rebalance, file.rebalance)?;
        let security = SecuritySettings::resolve(&args.security, file.tls, file.auth, file.limits)?;
        let taken = [Some(port), metrics_enabled.then_some(metrics_port)];
        let grpc_addr = grpc::grpc_addr(&args.grpc, file.grpc, host, &taken)?;
        let tracing = TracingSettings::resolve(&args.tracing, file.tracing, file.log.access)?;
        Ok(Self {
            overload,
            rebalance,
            security,
            tracing,
            client_addr: SocketAddr::new(host, port),
            metrics_addr: metrics_enabled.then_some(SocketAddr::new(host, metrics_port)),
            grpc_addr,
            storage,
            log_format: args.log_format.or(file.log.format).unwrap_or_default(),
            log_level: args
                .log_level
                .or(file.log.level)
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned()),
            cluster: ClusterSettings::resolve(
                ClusterInputs {
                    node_id: args.node_id.or(file.cluster.node_id.map(|id| id.0)),
                    data_dir: args.data_dir.or(file.cluster.data_dir),
                    peers: args.peers.or(file.cluster.peers),
                    advertise: args.advertise_addr.or(file.cluster.advertise_addr),
                    bootstrap_expect: args.bootstrap_expect.or(file.cluster.bootstrap_expect),
                    owner_timeout_seconds: args
                        .owner_timeout_seconds
                        .or(file.cluster.owner_timeout_seconds),
                    peer_max_in_flight: args.peer_max_in_flight.or(file.cluster.peer_max_in_flight),
                },
                SocketAddr::new(host, peer_port),
            )?,
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace_seconds
                    .or(file.server.shutdown_grace_seconds)
                    .unwrap_or(30),
            ),
            worker_threads: match args.worker_threads.or(file.server.worker_threads) {
                Some(0) => {
                    return Err(ConfigError::Invalid(
                        "worker threads must be at least 1 (unset: one per CPU)".to_owned(),
                    ));
                }
                threads => threads,
            },
        })
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

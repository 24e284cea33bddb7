//! Settings of `pubsubgo-server`.
//!
//! Each setting comes from, in order of precedence: a command-line flag, a
//! `PUBSUB_*` environment variable, the YAML file given with `-c/--config`, and
//! the default. An unknown key in the file is an error naming the key.
//!
//! ```yaml
//! server:  { host: 0.0.0.0, port: 8081, shutdown_grace_seconds: 30 }
//! metrics: { enabled: true, port: 9092 }
//! storage:
//!   kind: redis
//!   redis: { url: "redis://redis:6379" }   # or cluster_nodes: "n1:7000,n2:7001"
//! log:     { format: text, level: info }
//! cluster: { node_id: 0, data_dir: ./data, peer_port: 8082 }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Deserialize;
use thiserror::Error;

use crate::storage::redis::{RedisSettings, RedisTarget};
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
    /// Log format [default: text].
    #[arg(long, env = "PUBSUB_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `node=debug,info` [default: info,openraft=warn].
    #[arg(long, env = "PUBSUB_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Seconds to let requests and streams finish on shutdown [default: 30].
    #[arg(long, env = "PUBSUB_SHUTDOWN_GRACE_SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,
    /// This node's id in the metadata Raft group [default: 0].
    #[arg(long, env = "PUBSUB_NODE_ID")]
    pub node_id: Option<u64>,
    /// Where the Raft log and snapshots of the metadata live [default: ./data].
    #[arg(long, env = "PUBSUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Peer port: Raft RPC between nodes [default: 8082].
    #[arg(long, env = "PUBSUB_PEER_PORT")]
    pub peer_port: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    cluster: ClusterSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSection {
    node_id: Option<u64>,
    data_dir: Option<PathBuf>,
    peer_port: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    host: Option<IpAddr>,
    port: Option<u16>,
    shutdown_grace_seconds: Option<u64>,
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
struct RedisSection {
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    password: Option<String>,
    cluster_nodes: Option<String>,
    key_prefix: Option<String>,
    connect_timeout_millis: Option<u64>,
    response_timeout_millis: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    format: Option<LogFormat>,
    level: Option<String>,
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
    pub storage: StorageConfig,
    pub log_format: LogFormat,
    pub log_level: String,
    pub shutdown_grace: Duration,
    pub node_id: u64,
    pub data_dir: PathBuf,
    pub peer_addr: SocketAddr,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
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
        let storage = match args.storage.or(file.storage.kind).unwrap_or_default() {
            StorageKind::Memory => StorageConfig::Memory,
            StorageKind::Redis => StorageConfig::Redis(redis_settings(&args, file.storage.redis)?),
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
        Ok(Self {
            client_addr: SocketAddr::new(host, port),
            metrics_addr: metrics_enabled.then_some(SocketAddr::new(host, metrics_port)),
            storage,
            log_format: args.log_format.or(file.log.format).unwrap_or_default(),
            log_level: args
                .log_level
                .or(file.log.level)
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned()),
            node_id: args.node_id.or(file.cluster.node_id).unwrap_or(0),
            data_dir: args
                .data_dir
                .or(file.cluster.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            peer_addr: SocketAddr::new(host, peer_port),
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace_seconds
                    .or(file.server.shutdown_grace_seconds)
                    .unwrap_or(30),
            ),
        })
    }
}

/// Redis settings: cluster nodes, or a URL, or host and port; not two of them.
fn redis_settings(args: &Args, file: RedisSection) -> Result<RedisSettings, ConfigError> {
    let url = args.redis_url.clone().or(file.url);
    let host = args.redis_host.clone().or(file.host);
    let port = args.redis_port.or(file.port);
    let nodes = args.redis_cluster_nodes.clone().or(file.cluster_nodes);
    let target = match (nodes, url) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid(
                "set either the Redis URL or the Redis cluster nodes, not both".to_owned(),
            ));
        }
        (Some(nodes), None) => {
            let nodes: Vec<String> = nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            if nodes.is_empty() {
                return Err(ConfigError::Invalid(
                    "the Redis cluster nodes list is empty".to_owned(),
                ));
            }
            RedisTarget::Cluster { nodes }
        }
        (None, Some(url)) => {
            if host.is_some() || port.is_some() {
                return Err(ConfigError::Invalid(
                    "set either the Redis URL or the Redis host and port, not both".to_owned(),
                ));
            }
            RedisTarget::Standalone { url }
        }
        (None, None) => RedisTarget::Standalone {
            url: format!(
                "redis://{}:{}",
                host.as_deref().unwrap_or("127.0.0.1"),
                port.unwrap_or(6379)
            ),
        },
    };
    let millis = |flag: Option<u64>, file: Option<u64>, default: Duration| {
        flag.or(file).map_or(default, Duration::from_millis)
    };
    let settings = RedisSettings {
        target,
        password: args.redis_password.clone().or(file.password),
        key_prefix: args
            .redis_key_prefix
            .clone()
            .or(file.key_prefix)
            .unwrap_or_else(|| RedisSettings::DEFAULT_KEY_PREFIX.to_owned()),
        connect_timeout: millis(
            args.redis_connect_timeout_millis,
            file.connect_timeout_millis,
            RedisSettings::DEFAULT_CONNECT_TIMEOUT,
        ),
        response_timeout: millis(
            args.redis_response_timeout_millis,
            file.response_timeout_millis,
            RedisSettings::DEFAULT_RESPONSE_TIMEOUT,
        ),
    };
    if settings.key_prefix.is_empty() || settings.key_prefix.contains(['{', '}']) {
        return Err(ConfigError::Invalid(
            "the Redis key prefix must be non-empty and contain no braces".to_owned(),
        ));
    }
    if settings.connect_timeout.is_zero() || settings.response_timeout.is_zero() {
        return Err(ConfigError::Invalid(
            "Redis timeouts must be positive".to_owned(),
        ));
    }
    Ok(settings)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A YAML file in the temp dir, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("pubsubgo-{}-{name}.yaml", std::process::id()));
            std::fs::write(&path, text).expect("write temp config");
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn with_file(file: &TempFile) -> Args {
        Args {
            config: Some(file.0.clone()),
            ..Args::default()
        }
    }

    #[test]
    fn defaults_need_no_input() {
        let config = Config::resolve(Args::default()).expect("defaults resolve");
        assert_eq!(config.client_addr.port(), 8081);
        assert_eq!(config.metrics_addr.map(|a| a.port()), Some(9092));
        assert_eq!(config.storage, StorageConfig::Memory);
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let file = TempFile::new(
            "precedence",
            "server:\n  port: 7000\nmetrics:\n  port: 7001\nlog:\n  format: json\n",
        );
        let args = Args {
            port: Some(6000),
            ..with_file(&file)
        };
        let config = Config::resolve(args).expect("resolves");
        assert_eq!(config.client_addr.port(), 6000, "flag wins over file");
        assert_eq!(
            config.metrics_addr.map(|a| a.port()),
            Some(7001),
            "file wins over default"
        );
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let file = TempFile::new("unknown", "server:\n  prot: 7000\n");
        let err = Config::resolve(with_file(&file)).expect_err("unknown key");
        assert!(err.to_string().contains("prot"), "{err}");
        let file = TempFile::new("unknown-section", "srever:\n  port: 7000\n");
        let err = Config::resolve(with_file(&file)).expect_err("unknown section");
        assert!(err.to_string().contains("srever"), "{err}");
    }

    #[test]
    fn conflicting_or_unavailable_settings_are_refused() {
        let same_ports = Args {
            port: Some(9000),
            metrics_port: Some(9000),
            ..Args::default()
        };
        assert!(Config::resolve(same_ports).is_err());
        let both = Args {
            storage: Some(StorageKind::Redis),
            redis_url: Some("redis://a:1".to_owned()),
            redis_cluster_nodes: Some("b:2".to_owned()),
            ..Args::default()
        };
        assert!(Config::resolve(both).is_err());
    }

    #[test]
    fn redis_settings_come_from_url_host_or_cluster_nodes() {
        let redis = |args: Args| match Config::resolve(Args {
            storage: Some(StorageKind::Redis),
            ..args
        })
        .expect("resolves")
        .storage
        {
            StorageConfig::Redis(settings) => settings,
            StorageConfig::Memory => panic!("expected redis"),
        };
        let defaults = redis(Args::default());
        assert_eq!(
            defaults.target,
            RedisTarget::Standalone {
                url: "redis://127.0.0.1:6379".to_owned()
            }
        );
        assert_eq!(defaults.key_prefix, "ps");
        let host = redis(Args {
            redis_host: Some("redis".to_owned()),
            redis_port: Some(7000),
            redis_password: Some("secret".to_owned()),
            ..Args::default()
        });
        assert_eq!(
            (host.target, host.password.as_deref()),
            (
                RedisTarget::Standalone {
                    url: "redis://redis:7000".to_owned()
                },
                Some("secret")
            )
        );
        let file = TempFile::new(
            "redis-cluster",
            "storage:\n  kind: redis\n  redis:\n    cluster_nodes: \"n1:7000, n2:7001\"\n    response_timeout_millis: 500\n",
        );
        let cluster = redis(with_file(&file));
        assert_eq!(
            cluster.target,
            RedisTarget::Cluster {
                nodes: vec!["n1:7000".to_owned(), "n2:7001".to_owned()]
            }
        );
        assert_eq!(cluster.response_timeout, Duration::from_millis(500));
    }
}

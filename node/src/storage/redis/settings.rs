//! [`RedisSettings`]: where Redis is, how to reach it, and where our keys live.

use std::path::PathBuf;
use std::time::Duration;

use redis::TlsCertificates;

use crate::storage::StorageError;

/// Where Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server (or a primary behind a stable address), e.g. `redis://host:6379`.
    Standalone { url: String },
    /// A Redis Cluster; any few nodes as seeds (`host:port` or `redis://host:port`).
    Cluster { nodes: Vec<String> },
}

/// How to reach Redis and where our keys live.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub target: RedisTarget,
    /// Password for every node (cluster, or a standalone URL without one).
    pub password: Option<String>,
    /// First part of every key (`<prefix>:{topic:partition}:…`).
    pub key_prefix: String,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// PEM CA certificates a `rediss://` server's certificate must chain to,
    /// instead of the system's trust store. For a cluster, TLS is on when set.
    pub ca_file: Option<PathBuf>,
    /// Multiplexed connections to a standalone server, each partition's calls
    /// on one of them (by its keys' hash tag); a cluster keeps one per node.
    pub connections: usize,
}

/// Never prints the password (nor one inside a URL).
impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            RedisTarget::Standalone { url } => match url.rsplit_once('@') {
                Some((_, host)) => format!("standalone redis://***@{host}"),
                None => format!("standalone {url}"),
            },
            RedisTarget::Cluster { nodes } => format!("cluster {nodes:?}"),
        };
        f.debug_struct("RedisSettings")
            .field("target", &target)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("ca_file", &self.ca_file)
            .field("connections", &self.connections)
            .finish()
    }
}

impl RedisSettings {
    pub const DEFAULT_KEY_PREFIX: &str = "ps";
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(2_000);
    /// Two connections let two threads read replies at once (BENCHMARKS.md,
    /// the eleventh run's section: +8 to +12 % on target 1's row).
    pub const DEFAULT_CONNECTIONS: usize = 2;
    /// Most connections to a standalone server.
    pub const MAX_CONNECTIONS: usize = 16;

    /// Standalone Redis at `url` with default prefix and timeouts.
    pub fn standalone(url: impl Into<String>) -> Self {
        Self::with_target(RedisTarget::Standalone { url: url.into() })
    }

    /// Redis Cluster seeded by `nodes`, with default prefix and timeouts.
    pub fn cluster(nodes: Vec<String>) -> Self {
        Self::with_target(RedisTarget::Cluster { nodes })
    }

    fn with_target(target: RedisTarget) -> Self {
        Self {
            target,
            password: None,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            ca_file: None,
            connections: Self::DEFAULT_CONNECTIONS,
        }
    }

    /// The bound on one whole call: a reconnect attempt plus the response.
    pub(super) fn overall_timeout(&self) -> Duration {
        self.connect_timeout * 2 + self.response_timeout
    }
}

/// The CA of `settings.ca_file` for the Redis client, if one is set.
pub(super) fn tls_certificates(
    settings: &RedisSettings,
) -> Result<Option<TlsCertificates>, StorageError> {
    let Some(path) = &settings.ca_file else {
        return Ok(None);
    };
    let root_cert = std::fs::read(path).map_err(|e| StorageError::Unavailable {
        reason: format!("cannot read the Redis CA file {}: {e}", path.display()),
    })?;
    Ok(Some(TlsCertificates {
        client_tls: None,
        root_cert: Some(root_cert),
    }))
}

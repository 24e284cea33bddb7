//! The `storage.redis` section of the settings: its keys under the Redis
//! flags, and the Redis settings they make.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;
use crate::storage::redis::{RedisSettings, RedisTarget};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedisSection {
    pub(super) url: Option<String>,
    pub(super) host: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) password: Option<String>,
    pub(super) cluster_nodes: Option<String>,
    pub(super) key_prefix: Option<String>,
    pub(super) connect_timeout_millis: Option<u64>,
    pub(super) response_timeout_millis: Option<u64>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) connections: Option<usize>,
}

impl RedisSection {
    /// These settings (the flags and their environment variables) over
    /// `below`'s (the file's keys).
    pub(super) fn over(self, below: Self) -> Self {
        Self {
            url: self.url.or(below.url),
            host: self.host.or(below.host),
            port: self.port.or(below.port),
            password: self.password.or(below.password),
            cluster_nodes: self.cluster_nodes.or(below.cluster_nodes),
            key_prefix: self.key_prefix.or(below.key_prefix),
            connect_timeout_millis: self.connect_timeout_millis.or(below.connect_timeout_millis),
            response_timeout_millis: self
                .response_timeout_millis
                .or(below.response_timeout_millis),
            ca_file: self.ca_file.or(below.ca_file),
            connections: self.connections.or(below.connections),
        }
    }

    /// Whether any Redis setting is given.
    pub(super) fn names_redis(&self) -> bool {
        self.url.is_some()
            || self.host.is_some()
            || self.port.is_some()
            || self.password.is_some()
            || self.cluster_nodes.is_some()
            || self.key_prefix.is_some()
            || self.connect_timeout_millis.is_some()
            || self.response_timeout_millis.is_some()
            || self.ca_file.is_some()
            || self.connections.is_some()
    }
}

/// Redis settings: cluster nodes, or a URL, or host and port; not two of them.
pub(super) fn redis_settings(redis: RedisSection) -> Result<RedisSettings, ConfigError> {
    let RedisSection {
        url,
        host,
        port,
        password,
        cluster_nodes: nodes,
        key_prefix,
        connect_timeout_millis,
        response_timeout_millis,
        ca_file,
        connections,
    } = redis;
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
    let millis =
        |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_millis);
    let settings = RedisSettings {
        target,
        password,
        key_prefix: key_prefix.unwrap_or_else(|| RedisSettings::DEFAULT_KEY_PREFIX.to_owned()),
        connect_timeout: millis(
            connect_timeout_millis,
            RedisSettings::DEFAULT_CONNECT_TIMEOUT,
        ),
        response_timeout: millis(
            response_timeout_millis,
            RedisSettings::DEFAULT_RESPONSE_TIMEOUT,
        ),
        ca_file,
        connections: connections.unwrap_or(RedisSettings::DEFAULT_CONNECTIONS),
    };
    if !(1..=RedisSettings::MAX_CONNECTIONS).contains(&settings.connections) {
        return Err(ConfigError::Invalid(format!(
            "Redis connections must be 1 to {}, got {}",
            RedisSettings::MAX_CONNECTIONS,
            settings.connections
        )));
    }
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

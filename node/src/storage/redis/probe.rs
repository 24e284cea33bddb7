//! [`Probe`]: keeps `pubsubgo_redis_up` fresh for every configured Redis
//! node (the standalone server, or each listed Cluster node) by sending each
//! a `PING` every [`PROBE_INTERVAL`] on a connection of its own.
//!
//! Storage calls cannot tell which Cluster node failed them, so the gauge is
//! the probe's alone. A node is up when it answered the last `PING` within
//! the response timeout.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ConnectionInfo, IntoConnectionInfo, RedisError};
use tokio::task::JoinHandle;

use super::connection::node_url;
use super::settings::{RedisSettings, RedisTarget};
use crate::telemetry::redis_metrics::RedisMetrics;

/// How often each node is pinged.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// One configured node: its `node` label (`host:port`) and how to reach it.
struct Target {
    node: String,
    client: Client,
    connection: Option<MultiplexedConnection>,
}

/// The running probe; dropping it stops the probing.
#[derive(Debug)]
pub struct Probe {
    task: JoinHandle<()>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Probe {
    /// Starts probing the nodes `settings` names, recording in `metrics`.
    /// Must run inside the Tokio runtime. A node whose address cannot be
    /// parsed is reported down under the address as written.
    pub fn start(settings: &RedisSettings, metrics: RedisMetrics) -> Self {
        let addresses = match &settings.target {
            RedisTarget::Standalone { url } => vec![url.clone()],
            RedisTarget::Cluster { nodes } => nodes.iter().map(|n| node_url(n)).collect(),
        };
        let mut targets = Vec::new();
        for address in addresses {
            match client(&address, settings.password.as_deref()) {
                Ok((node, client)) => targets.push(Target {
                    node,
                    client,
                    connection: None,
                }),
                Err(_) => metrics.set_up(&label(&address), false),
            }
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(settings.response_timeout));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROBE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // All at once: a node that does not answer holds up no other.
                let pings = targets.iter_mut().map(|target| async {
                    let up = target.ping(&config).await.is_ok();
                    metrics.set_up(&target.node, up);
                });
                futures::future::join_all(pings).await;
            }
        });
        Self { task }
    }
}

impl Target {
    /// Pings the node, connecting first when the last ping failed; a
    /// connection that failed is dropped.
    async fn ping(&mut self, config: &AsyncConnectionConfig) -> Result<(), RedisError> {
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                self.client
                    .get_multiplexed_async_connection_with_config(config)
                    .await?
            }
        };
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        self.connection = Some(connection);
        Ok(())
    }
}

/// The client of one node at `address`, with `password` unless the address
/// has one, and its label.
fn client(address: &str, password: Option<&str>) -> Result<(String, Client), RedisError> {
    let mut info: ConnectionInfo = address.into_connection_info()?;
    if let Some(password) = password
        && info.redis_settings().password().is_none()
    {
        let redis = info.redis_settings().clone().set_password(password);
        info = info.set_redis_settings(redis);
    }
    Ok((label(address), Client::open(info)?))
}

/// `host:port` of `address`: no scheme, password or database.
pub(super) fn label(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn a_node_is_labelled_by_host_and_port_alone() {
        assert_eq!(label("redis://:secret@cache:6380/2"), "cache:6380");
        assert_eq!(label("redis://10.0.0.1:7000"), "10.0.0.1:7000");
        assert_eq!(label("rediss://user:pw@h:1"), "h:1");
    }
}

//! The connection to Redis (standalone or Cluster), its timeouts, and the one
//! mapping from Redis errors to [`StorageError`].
//!
//! Both kinds are multiplexed: calls share one connection per node of a
//! cluster, and a standalone server's few ([`RedisSettings::connections`],
//! each partition's calls on one of them, by its keys' hash tag), so no call
//! may block server-side (no `BLOCK`); the one exception is the bounded `WAIT`
//! of a `replicated:N` append (see `durability`). A cursor call's reads may
//! go on connections of their own instead (`range_reader`). Every call has
//! three bounds: the connect timeout, the per-command response timeout, and an
//! overall timeout around the whole call (reconnection included).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;
use tracing::Instrument;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    Client, Cmd, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, RedisResult,
    Value,
};

use super::member::member_index;
use super::moved_transaction;
use super::range_reader::RangeReader;
use super::settings::{RedisSettings, RedisTarget, tls_certificates};
use crate::storage::StorageError;
use crate::telemetry::redis_metrics::RedisMetrics;

/// Whether a failed call may have changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

#[derive(Clone)]
enum Inner {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A cheap-to-clone handle on the multiplexed connections.
#[derive(Clone)]
pub(crate) struct Connection {
    inner: Inner,
    /// A standalone server's further connections ([`RedisSettings::connections`]
    /// minus one); each call goes to one of `inner` and these by the hash tag
    /// of its first key (`{topic:partition}`), so one partition's calls keep
    /// their order on one connection.
    more: Arc<[ConnectionManager]>,
    overall_timeout: Duration,
    /// Where a cursor call's reads go, when not through the redis crate.
    reader: Option<Arc<RangeReader>>,
    /// Each round trip's latency and failures ([`RedisMetrics`]).
    pub(crate) observer: RedisMetrics,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Standalone(_) => "standalone",
            Inner::Cluster(_) => "cluster",
        };
        f.debug_struct("Connection")
            .field("kind", &kind)
            .field("overall_timeout", &self.overall_timeout)
            .finish()
    }
}

impl Connection {
    /// Connects (and for a cluster, learns the slot map); fails if Redis cannot
    /// be reached now.
    pub(crate) async fn open(settings: &RedisSettings) -> Result<Self, StorageError> {
        let unavailable = |e: RedisError| StorageError::Unavailable {
            reason: format!("cannot connect to Redis: {e}"),
        };
        let (inner, more, reader) = match &settings.target {
            RedisTarget::Standalone { url } => {
                let mut info = url.as_str().into_connection_info().map_err(unavailable)?;
                if let Some(password) = &settings.password
                    && info.redis_settings().password().is_none()
                {
                    let redis = info.redis_settings().clone().set_password(password);
                    info = info.set_redis_settings(redis);
                }
                let reader = RangeReader::for_server(
                    &info,
                    settings.connect_timeout,
                    settings.response_timeout,
                    settings.overall_timeout(),
                )
                .map(Arc::new);
                let client = match tls_certificates(settings)? {
                    Some(certificates) => Client::build_with_tls(info, certificates),
                    None => Client::open(info),
                }
                .map_err(unavailable)?;
                // Few reconnect retries: while Redis is down, calls should fail
                // fast (503) rather than queue behind a long backoff.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(settings.connect_timeout))
                    .set_response_timeout(Some(settings.response_timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                let connect = || {
                    let connecting =
                        ConnectionManager::new_with_config(client.clone(), config.clone());
                    async move {
                        tokio::time::timeout(settings.overall_timeout(), connecting)
                            .await
                            .map_err(|_| StorageError::Unavailable {
                                reason: "timed out connecting to Redis".to_owned(),
                            })?
                            .map_err(unavailable)
                    }
                };
                let manager = connect().await?;
                let count = settings
                    .connections
                    .clamp(1, RedisSettings::MAX_CONNECTIONS);
                let more = futures::future::try_join_all((1..count).map(|_| connect())).await?;
                (Inner::Standalone(manager), more, reader)
            }
            RedisTarget::Cluster { nodes } => {
                let seeds: Vec<String> = nodes.iter().map(|n| node_url(n)).collect();
                let mut builder = ClusterClientBuilder::new(seeds)
                    .connection_timeout(settings.connect_timeout)
                    .response_timeout(settings.response_timeout)
                    .overall_response_timeout(Some(settings.overall_timeout()))
                    .retries(3)
                    .min_retry_wait(20)
                    .max_retry_wait(500);
                if let Some(password) = &settings.password {
                    builder = builder.password(password);
                }
                if let Some(certificates) = tls_certificates(settings)? {
                    builder = builder.certs(certificates);
                }
                let client = builder.build().map_err(unavailable)?;
                let connection =
                    tokio::time::timeout(settings.overall_timeout(), client.get_async_connection())
                        .await
                        .map_err(|_| StorageError::Unavailable {
                            reason: "timed out connecting to Redis Cluster".to_owned(),
                        })?
                        .map_err(unavailable)?;
                (Inner::Cluster(connection), Vec::new(), None)
            }
        };
        Ok(Self {
            inner,
            more: more.into(),
            overall_timeout: settings.overall_timeout(),
            reader,
            observer: RedisMetrics::default(),
        })
    }

    /// The reader of a cursor call's messages, where it does not read
    /// through the redis crate (see `range_reader`).
    pub(crate) fn range_reader(&self) -> Option<&RangeReader> {
        self.reader.as_deref()
    }

    /// `PING` on every connection, one after another: a connection that
    /// broke while idle (Redis restarted) fails here, and reconnects for the
    /// next call, so once this passes every partition is served again.
    pub(crate) async fn ping(&self) -> Result<(), StorageError> {
        let mut members = vec![self.inner.clone()];
        members.extend(self.more.iter().cloned().map(Inner::Standalone));
        for inner in members {
            let one = Self {
                inner,
                more: Vec::new().into(),
                ..self.clone()
            };
            one.call(Access::Read, |mut c| async move {
                redis::cmd("PING").query_async::<String>(&mut c).await
            })
            .await?;
        }
        Ok(())
    }

    /// Whether any key matches the glob `pattern`, on every primary of a
    /// cluster (`SCAN … MATCH`, stopping at the first key found).
    pub(crate) async fn any_key_matches(&self, pattern: &str) -> Result<bool, StorageError> {
        let pattern = pattern.to_owned();
        self.call(Access::Read, |conn| async move {
            let mut c = match conn.inner {
                Inner::Standalone(mut c) => return scan_finds(&mut c, None, &pattern).await,
                Inner::Cluster(c) => c,
            };
            let primaries = c
                .route_command(
                    redis::cmd("PING"),
                    RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
                )
                .await?;
            let Value::Map(primaries) = primaries else {
                return Ok(false);
            };
            for (address, _) in primaries {
                let address: String = redis::from_redis_value(address)?;
                let Some((host, port)) = address.rsplit_once(':') else {
                    continue;
                };
                let node = SingleNodeRoutingInfo::ByAddress {
                    host: host.to_owned(),
                    port: port.parse().unwrap_or_default(),
                };
                if scan_finds(&mut c, Some(node), &pattern).await? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await
    }

    /// Runs one call (a command, pipeline or script) within the overall
    /// timeout, mapping failures by what they mean for a call of kind `access`.
    pub(crate) async fn call<T, F, Fut>(&self, access: Access, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        match tokio::time::timeout(self.overall_timeout, f(self.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(match (&self.inner, access) {
                (Inner::Cluster(_), Access::Write) => retried_write_error(&error),
                _ => storage_error(&error, access),
            }),
            Err(_) => Err(match access {
                Access::Read => StorageError::Unavailable {
                    reason: "Redis did not answer in time".to_owned(),
                },
                Access::Write => StorageError::OutcomeUnknown {
                    reason: "Redis did not answer in time; the write may have happened".to_owned(),
                },
            }),
        }
    }
}

/// Whether `SCAN … MATCH pattern` finds a key on `c` (on `node` of a cluster).
async fn scan_finds<C: ClusterRoute>(
    c: &mut C,
    node: Option<SingleNodeRoutingInfo>,
    pattern: &str,
) -> Result<bool, RedisError> {
    let mut cursor = 0u64;
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000);
        let reply = c.route(scan, node.clone()).await?;
        let (next, found): (u64, Vec<Vec<u8>>) = redis::from_redis_value(reply)?;
        if !found.is_empty() {
            return Ok(true);
        }
        if next == 0 {
            return Ok(false);
        }
        cursor = next;
    }
}

/// Sends a command to one node of a cluster, or to the standalone server.
trait ClusterRoute {
    async fn route(&mut self, cmd: Cmd, node: Option<SingleNodeRoutingInfo>) -> RedisResult<Value>;
}

impl ClusterRoute for ConnectionManager {
    async fn route(&mut self, cmd: Cmd, _: Option<SingleNodeRoutingInfo>) -> RedisResult<Value> {
        cmd.query_async(self).await
    }
}

impl ClusterRoute for ClusterConnection {
    async fn route(&mut self, cmd: Cmd, node: Option<SingleNodeRoutingInfo>) -> RedisResult<Value> {
        match node {
            Some(node) => self.route_command(cmd, RoutingInfo::SingleNode(node)).await,
            None => cmd.query_async(self).await,
        }
    }
}

/// The span of one Redis round trip (`db.system.name = redis`), named by
/// its command (`EVALSHA` for a script) or `PIPELINE`.
pub(super) fn round_trip_span(operation: &str) -> tracing::Span {
    tracing::info_span!(
        "redis",
        otel.name = operation,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = operation,
    )
}

/// Awaits one round trip and records it.
async fn observed<T>(
    sent: impl Future<Output = Result<T, RedisError>>,
    observer: RedisMetrics,
    operation: String,
) -> Result<T, RedisError> {
    let started = Instant::now();
    let result = sent.await;
    observer.round_trip(&operation, started.elapsed(), &result);
    result
}

/// The URL of a listed Cluster node: `host:port` or already a URL.
pub(super) fn node_url(node: &str) -> String {
    if node.contains("://") {
        node.to_owned()
    } else {
        format!("redis://{node}")
    }
}

/// The command name of `cmd`, upper-case.
fn command_name(cmd: &Cmd) -> String {
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(name)) => String::from_utf8_lossy(name).to_ascii_uppercase(),
        _ => "COMMAND".to_owned(),
    }
}

impl Connection {
    /// The further connection `cmd` goes to, by the hash tag of its first key
    /// ([`hash_tag`]); `None` for `inner` (a cluster, a single connection, a
    /// command without a tagged key, or the tags that land on `inner`).
    fn member(&self, cmd: &Cmd) -> Option<ConnectionManager> {
        let index = member_index(cmd, self.more.len() + 1)?.checked_sub(1)?;
        self.more.get(index).cloned()
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let operation = command_name(cmd);
        let span = round_trip_span(&operation);
        let observer = self.observer.clone();
        let sent = match (self.member(cmd), &mut self.inner) {
            (Some(mut c), _) => Box::pin(async move { c.req_packed_command(cmd).await }),
            (None, Inner::Standalone(c)) => c.req_packed_command(cmd),
            (None, Inner::Cluster(c)) => c.req_packed_command(cmd),
        };
        Box::pin(observed(sent, observer, operation).instrument(span))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let span = round_trip_span("PIPELINE");
        let observer = self.observer.clone();
        let first = pipeline.cmd_iter().next();
        let sent = match (first.and_then(|cmd| self.member(cmd)), &mut self.inner) {
            (Some(mut c), _) => {
                Box::pin(async move { c.req_packed_commands(pipeline, offset, count).await })
            }
            (None, Inner::Standalone(c)) => c.req_packed_commands(pipeline, offset, count),
            (None, Inner::Cluster(c)) => {
                let mut c = c.clone();
                Box::pin(async move {
                    match c.req_packed_commands(pipeline, offset, count).await {
                        Err(e) if pipeline.is_transaction() && moved_transaction::moved(&e) => {
                            // The slot moved: relearn it, then send the
                            // transaction (which ran nothing) again.
                            if let Some(probe) = moved_transaction::slot_probe(pipeline) {
                                let _ = c.req_packed_command(&probe).await;
                            }
                            c.req_packed_commands(pipeline, offset, count).await
                        }
                        other => other,
                    }
                })
            }
        };
        Box::pin(observed(sent, observer, "PIPELINE".to_owned()).instrument(span))
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Standalone(c) => c.get_db(),
            Inner::Cluster(c) => c.get_db(),
        }
    }
}

/// A failed write on a Redis Cluster: its outcome is unknown, whatever the
/// error says. The cluster client sends a command again by itself after a
/// lost reply (a reset connection, a primary killed mid-call) and reports the
/// last attempt's error only: a refusal (`MOVED` to a dead primary,
/// `CLUSTERDOWN`, a refused connection, even `OOM`) may follow a first
/// attempt that ran. Found by the chaos scenario `redis-failover`: a publish
/// answered `503` had been stored. The standalone client never sends a
/// command twice, so there the error's own meaning holds ([`storage_error`]).
/// A reply the broker cannot read stays `Corrupt` (a bug, `500`, whose
/// outcome is unknown too), so it is not retried as if it were passing.
fn retried_write_error(error: &RedisError) -> StorageError {
    match storage_error(error, Access::Write) {
        corrupt @ StorageError::Corrupt { .. } => corrupt,
        _ => StorageError::OutcomeUnknown {
            reason: format!(
                "{error} (a Redis Cluster write fails with an unknown outcome: the client \
                 may have sent it again after a lost reply, and an earlier attempt may have run)"
            ),
        },
    }
}

/// Server error codes that refuse a command before it runs: nothing changed,
/// and a later retry may succeed.
const REFUSALS: &[&str] = &[
    "READONLY",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "MASTERDOWN",
    "LOADING",
    "BUSY",
    "NOREPLICAS",
    "MOVED",
    "ASK",
    "CROSSSLOT",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "EXECABORT",
];

/// The one mapping from a Redis error to a storage error.
///
/// - refused connection, or a server refusal ([`REFUSALS`]) → `Unavailable`
///   (definite: nothing happened);
/// - `OOM` (Redis at `maxmemory` with `noeviction`) → `Full` (definite: Redis
///   refuses a write command, and a script at its first write, before it
///   changes anything);
/// - any other I/O failure (timeout, reset, dropped) → `OutcomeUnknown` for a
///   write (the command may have run), `Unavailable` for a read;
/// - a reply we cannot read, or a server error that means a bug → `Corrupt`.
pub(crate) fn storage_error(error: &RedisError, access: Access) -> StorageError {
    let reason = error.to_string();
    if error.is_connection_refusal() {
        return StorageError::Unavailable { reason };
    }
    // redis-rs reads `OOM` as an extension error, not a server error kind.
    if error.code() == Some("OOM") {
        return StorageError::Full { reason };
    }
    match error.kind() {
        ErrorKind::Io if access == Access::Write => StorageError::OutcomeUnknown { reason },
        ErrorKind::Io => StorageError::Unavailable { reason },
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => StorageError::Corrupt { reason },
        ErrorKind::Server(_) => match error.code() {
            Some(code) if REFUSALS.contains(&code) => StorageError::Unavailable { reason },
            _ => StorageError::Corrupt { reason },
        },
        _ => StorageError::Unavailable { reason },
    }
}

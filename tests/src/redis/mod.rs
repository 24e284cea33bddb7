//! Real `redis-server` processes for tests on Redis storage: one standalone
//! server and one 3-primary/3-replica cluster shared by the tests of a binary
//! (each test isolates itself with a fresh key prefix), plus dedicated servers
//! for tests that stop and restart Redis.
//!
//! Every server runs under a small `sh` guard that holds the read end of a pipe
//! whose write end only this test process has: when the pipe closes (the
//! server is dropped, or the process exits however it exits, which is what
//! ends the shared servers) the guard kills its server and removes its
//! directory. Servers bind 127.0.0.1 on ports the kernel hands out.

mod cluster;
mod server;

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use api::types::{CreateSubscriptionRequest, CreateTopicRequest, StartPosition};
use node::broker::Broker;
use node::metadata_store::MetadataStore;
use node::storage::redis::{RedisSettings, RedisStorage};
use tokio_util::sync::CancellationToken;

pub use cluster::RedisCluster;
pub use server::RedisServer;

/// Ports that belong to other services on this machine; never used here.
const RESERVED_PORTS: &[u16] = &[6379, 4222, 5672, 1883, 3306, 5432];

/// How long a server or the cluster may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

static STANDALONE: OnceLock<RedisServer> = OnceLock::new();
static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();

/// The standalone server shared by this test binary.
pub fn shared_standalone() -> &'static RedisServer {
    STANDALONE.get_or_init(|| RedisServer::standalone(&["--appendonly", "no"]))
}

/// The cluster shared by this test binary.
pub fn shared_cluster() -> &'static RedisCluster {
    CLUSTER.get_or_init(RedisCluster::start)
}

/// A key prefix no other test uses.
pub fn fresh_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "test{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Settings for `url` with a fresh prefix and short timeouts.
pub fn standalone_settings(url: String) -> RedisSettings {
    RedisSettings {
        key_prefix: fresh_prefix(),
        connect_timeout: Duration::from_millis(500),
        response_timeout: Duration::from_millis(2_000),
        ..RedisSettings::standalone(url)
    }
}

/// A standalone server of the test's own that keeps every acknowledged write
/// across `kill -9` and restart (append-only, synced on every write), and
/// settings for it whose short timeouts notice a restart quickly.
pub fn durable_standalone() -> (RedisServer, RedisSettings) {
    let redis = RedisServer::standalone(&["--appendonly", "yes", "--appendfsync", "always"]);
    let settings = RedisSettings {
        connect_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(500),
        ..standalone_settings(redis.url())
    };
    (redis, settings)
}

/// Fresh-prefixed storage on the shared standalone server.
pub async fn standalone_storage() -> RedisStorage {
    let settings = standalone_settings(shared_standalone().url());
    RedisStorage::connect(&settings)
        .await
        .expect("connect to standalone redis")
}

/// Fresh-prefixed storage on the shared cluster.
pub async fn cluster_storage() -> RedisStorage {
    let settings = RedisSettings {
        key_prefix: fresh_prefix(),
        ..RedisSettings::cluster(shared_cluster().seeds())
    };
    RedisStorage::connect(&settings)
        .await
        .expect("connect to redis cluster")
}

/// A port the kernel just handed out (and is free again), never a reserved one.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        if !RESERVED_PORTS.contains(&port) {
            return port;
        }
    }
}

/// Creates topic `orders` of `partitions` and its subscription `billing`
/// (from `start`, the default when `None`): what the broker tests on Redis use.
pub async fn orders_and_billing(broker: &Broker, partitions: u32, start: Option<StartPosition>) {
    let topic = CreateTopicRequest {
        partitions: Some(partitions),
        ..Default::default()
    };
    broker
        .catalog
        .create_topic("orders", topic)
        .await
        .expect("create topic");
    let sub = CreateSubscriptionRequest {
        topic: "orders".to_owned(),
        start_position: start,
        ..Default::default()
    };
    broker
        .catalog
        .create_subscription("billing", sub)
        .await
        .expect("create subscription");
}

/// A broker with local metadata on the Redis at `settings`.
pub async fn broker_on(settings: &RedisSettings) -> Broker {
    let storage = RedisStorage::connect(settings)
        .await
        .expect("connect to redis");
    node::server::broker(
        MetadataStore::local(),
        Arc::new(storage),
        CancellationToken::new(),
    )
}

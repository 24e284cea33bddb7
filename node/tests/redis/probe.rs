//! `pubsubgo_redis_up` per configured node, kept fresh by the probe: every
//! node of a standalone server or a Redis Cluster reads 1 while it runs, and
//! the one killed reads 0 while the others stay 1.

use std::time::{Duration, Instant};

use node::storage::redis::{RedisSettings, RedisStorage};
use node::telemetry::Metrics;

use testkit::redis::{RedisCluster, RedisServer, standalone_settings};

/// Longer than a few probe rounds (every 2 s) under load.
const WITHIN: Duration = Duration::from_secs(30);

/// The `pubsubgo_redis_up` sample of the node on `port`.
fn up(metrics: &Metrics, port: u16) -> Option<String> {
    let series = format!("pubsubgo_redis_up{{node=\"127.0.0.1:{port}\"}} ");
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(&series).map(str::to_owned))
}

/// Waits until the node on each port reads the value given with it.
async fn wait_until(metrics: &Metrics, expected: &[(u16, &str)]) {
    let deadline = Instant::now() + WITHIN;
    loop {
        let now: Vec<(u16, Option<String>)> = expected
            .iter()
            .map(|(p, _)| (*p, up(metrics, *p)))
            .collect();
        if now
            .iter()
            .zip(expected)
            .all(|((_, got), (_, want))| got.as_deref() == Some(*want))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {expected:?}, scraped {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn observed(settings: &RedisSettings, metrics: &Metrics) -> RedisStorage {
    RedisStorage::connect(settings)
        .await
        .expect("connect")
        .observed(settings, metrics.redis.clone())
}

#[test_log::test(tokio::test)]
async fn a_killed_standalone_server_reads_down() {
    tracing::info!("arrange: storage on a server of its own");
    let mut redis = RedisServer::standalone(&[]);
    let metrics = Metrics::new();
    let settings = standalone_settings(redis.url());
    let _storage = observed(&settings, &metrics).await;
    wait_until(&metrics, &[(redis.port, "1")]).await;

    tracing::info!("act: kill the server");
    redis.kill();

    tracing::info!("assert: the probe reports it down");
    wait_until(&metrics, &[(redis.port, "0")]).await;
}

#[test_log::test(tokio::test)]
async fn each_cluster_node_reads_up_and_a_killed_one_reads_down() {
    tracing::info!("arrange: storage on a cluster of its own, every node listed");
    let mut cluster = RedisCluster::start();
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
    let settings = RedisSettings::cluster(cluster.seeds());
    let metrics = Metrics::new();
    let _storage = observed(&settings, &metrics).await;
    let all_up: Vec<(u16, &str)> = ports.iter().map(|p| (*p, "1")).collect();
    wait_until(&metrics, &all_up).await;

    tracing::info!("act: kill one node");
    let killed = ports[ports.len() - 1];
    cluster.nodes.last_mut().expect("a node").kill();

    tracing::info!("assert: that node reads 0, the others still 1");
    let expected: Vec<(u16, &str)> = ports
        .iter()
        .map(|p| (*p, if *p == killed { "0" } else { "1" }))
        .collect();
    wait_until(&metrics, &expected).await;
}

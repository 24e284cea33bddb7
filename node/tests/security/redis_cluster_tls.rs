//! Redis Cluster over TLS: the binary stores messages in a real six-node
//! Redis Cluster whose nodes serve TLS (and speak it on the cluster bus),
//! seeded with `rediss://` addresses and trusting the private CA of
//! `--redis-ca-file`; without that file it refuses to start, which shows the
//! connections were TLS.

use testkit::certs::TestCa;
use testkit::client::{drain, publish, subscription, text};
use testkit::redis::RedisCluster;
use testkit::server_process::DataDir;

use crate::process::start;

/// Enough partitions that their keys fall on every primary.
const PARTITIONS: u32 = 12;

#[test_log::test(tokio::test)]
async fn the_broker_stores_in_a_redis_cluster_over_tls_and_refuses_an_untrusted_one() {
    tracing::info!(
        "arrange: a TLS Redis Cluster (3 primaries, 3 replicas) with a test CA's certificate"
    );
    let ca = TestCa::new("redis cluster CA");
    let pair = ca.server_cert("redis-cluster");
    let cluster = RedisCluster::start_tls(&pair.cert, &pair.key, &ca.ca_file);
    let seeds = cluster.tls_seeds().join(",");
    let ca_file = ca.ca_file.display().to_string();

    tracing::info!("act: a broker seeded with rediss:// and the CA file publishes and pulls");
    let data = DataDir::new("redis-cluster-tls");
    let server = start(
        &data,
        &[
            "--storage",
            "redis",
            "--redis-cluster-nodes",
            &seeds,
            "--redis-ca-file",
            &ca_file,
        ],
    );
    let client = server.connect();
    let topic = api::types::CreateTopicRequest {
        partitions: Some(PARTITIONS),
        ..Default::default()
    };
    client
        .create_topic("cluster-tls", &topic)
        .await
        .expect("create topic");
    client
        .create_subscription("cluster-tls-sub", &subscription("cluster-tls"))
        .await
        .expect("create subscription");
    let sent: Vec<String> = (0..PARTITIONS * 4)
        .map(|i| format!("over TLS {i}"))
        .collect();
    for chunk in sent.chunks(4) {
        publish(
            &client,
            "cluster-tls",
            chunk.iter().map(|m| text(m)).collect(),
        )
        .await
        .expect("publish");
    }
    let mut received = drain(&client, "cluster-tls-sub").await.expect("pull");

    tracing::info!(
        "assert: every message went through the cluster; without the CA the broker stops"
    );
    received.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(received, expected);
    let untrusting = DataDir::new("redis-cluster-tls-untrusting");
    let mut refused = start(
        &untrusting,
        &["--storage", "redis", "--redis-cluster-nodes", &seeds],
    );
    let status = refused.child.wait().expect("exits");
    assert!(
        !status.success(),
        "a broker that cannot verify the cluster's certificates does not start: {status}"
    );
}

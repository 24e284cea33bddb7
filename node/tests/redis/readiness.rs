//! After Redis restarts, each of a node's connections to it finds its break
//! on its next use. The readiness check pings every connection, so once it
//! passes, every partition is served at the first try.

use std::time::Duration;

use cluster::TopicName;
use node::storage::redis::RedisStorage;
use node::storage::{MessageLog, PartitionRef};
use testkit::redis::durable_standalone;

#[test_log::test(tokio::test)]
async fn once_the_ping_passes_after_a_redis_restart_every_partition_is_served() {
    tracing::info!("arrange: 8 partitions read over both connections");
    let (mut redis, settings) = durable_standalone();
    assert_eq!(settings.connections, 2);
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    let topic = TopicName::new("orders").expect("valid name");
    storage.create_topic(&topic, 8).await.expect("create");
    let at = |partition| PartitionRef {
        topic: topic.clone(),
        partition,
    };
    for partition in 0..8 {
        storage.offsets(&at(partition)).await.expect("read");
    }

    tracing::info!("act: Redis restarts; the readiness check is retried until it passes");
    redis.kill();
    redis.restart();
    testkit::wait_for("a passing ping", Duration::from_secs(10), || async {
        storage.ping().await.ok()
    })
    .await
    .expect("Redis is back");

    tracing::info!("assert: every partition answers at the first try");
    for partition in 0..8 {
        let read = storage.offsets(&at(partition)).await;
        assert!(read.is_ok(), "partition {partition}: {read:?}");
    }
}

//! A call dropped while its cursor write is on its way to Redis (an HTTP
//! client that hangs up, a caller's timeout) leaves the owner's working copy
//! ahead of Redis. The next call on that subscription must read Redis again
//! rather than trust the copy: otherwise an exactly-once ack sent again after
//! the drop is confirmed without ever being written.

use std::time::Duration;

use api::types::AckLevel;
use cluster::subscription::DeliveryMode;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{
    AppendOptions, Backlog, DeliveryPolicy, DeliveryRef, Epoch, FencedLog, LeaseRequest,
    SubscriptionState,
};
use testkit::redis::{shared_standalone, standalone_settings};
use testkit::storage::{message, orders_with_billing};
use testkit::{Fault, FaultProxy};

const T0: u64 = 1_700_000_000_000;

#[test_log::test(tokio::test)]
async fn an_exactly_once_ack_dropped_mid_write_is_written_when_sent_again() {
    let redis = shared_standalone();
    let direct = standalone_settings(redis.url());
    let upstream = redis
        .url()
        .trim_start_matches("redis://")
        .parse()
        .expect("address");
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    let through_proxy = RedisSettings {
        key_prefix: direct.key_prefix.clone(),
        ..standalone_settings(format!("redis://{}", proxy.addr()))
    };
    tracing::info!(
        "arrange: an exactly-once lease of m0, its owner reaching Redis through a proxy"
    );
    let owner = RedisStorage::connect(&through_proxy)
        .await
        .expect("connect");
    let (at, sub) = orders_with_billing(&owner).await;
    owner
        .append_fenced(
            &at,
            Epoch::SINGLE_NODE,
            vec![message("m0", T0)],
            &AppendOptions::plain(AckLevel::Leader),
        )
        .await
        .expect("append");
    let request = LeaseRequest {
        max_messages: 1,
        now_millis: T0,
        deadline_millis: T0 + 60_000,
        policy: DeliveryPolicy {
            mode: DeliveryMode::ExactlyOnce,
            ..DeliveryPolicy::default()
        },
    };
    let leased = owner.lease(&sub, &at, request).await.expect("lease");
    let delivery = DeliveryRef {
        offset: leased.leased[0].message.offset,
        attempt: 1,
    };

    // The lease read m0 into the owner's cache, so the ack's one round trip
    // to Redis is its write: the caller gives up during that write.
    tracing::info!("act: the ack's write is swallowed and its caller gives up");
    proxy.cut_all(Fault::Blackhole);
    let dropped = tokio::time::timeout(
        Duration::from_millis(300),
        owner.ack(&sub, &at, &[delivery], T0, true),
    )
    .await;
    assert!(
        dropped.is_err(),
        "the ack should still be waiting: {dropped:?}"
    );
    proxy.heal();
    let again = testkit::wait_for("the ack sent again", Duration::from_secs(10), || async {
        owner.ack(&sub, &at, &[delivery], T0, true).await.ok()
    })
    .await
    .expect("the ack goes through once Redis is reachable");

    tracing::info!("assert: the ack confirmed the second time is in Redis");
    let fresh = RedisStorage::connect(&direct).await.expect("connect");
    let Backlog { unacked, .. } = fresh.backlog(&sub, &at, T0).await.expect("backlog");
    assert_eq!(
        (again.newly_acked, unacked),
        (1, 0),
        "a confirmed exactly-once ack is in Redis"
    );
}

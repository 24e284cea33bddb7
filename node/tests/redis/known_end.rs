//! A lease on a subscription that has seen everything the owner appended asks
//! Redis nothing (the owner knows the partition's end from its own appends),
//! an append that landed without an answer still gets delivered, and a lease
//! whose read Redis refuses fails with Redis's error and leases nothing.

use std::time::Duration;

use api::types::AckLevel;
use cluster::SubscriptionName;
use node::storage::redis::RedisStorage;
use node::storage::{
    AppendOptions, Epoch, FencedLog, PartitionRef, StorageError, SubscriptionState,
};
use testkit::redis::{RedisServer, standalone_settings};
use testkit::storage::{lease_request, message, orders_with_billing};

const T0: u64 = 1_700_000_000_000;

/// A storage on `server` with topic `orders` (one partition) and its
/// subscription `billing` from the earliest message.
async fn orders(server: &RedisServer) -> (RedisStorage, PartitionRef, SubscriptionName) {
    let storage = RedisStorage::connect(&standalone_settings(server.url()))
        .await
        .expect("connect");
    let (at, sub) = orders_with_billing(&storage).await;
    (storage, at, sub)
}

async fn append(storage: &RedisStorage, at: &PartitionRef, data: &str) {
    storage
        .append_fenced(
            at,
            Epoch::SINGLE_NODE,
            vec![message(data.to_owned(), T0)],
            &AppendOptions::plain(AckLevel::Leader),
        )
        .await
        .expect("append");
}

/// Calls of `command` so far, from `INFO commandstats`.
fn calls(server: &RedisServer, command: &str) -> u64 {
    let stats = server.command("INFO commandstats");
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map_or(0, |rest| {
            rest.split(',')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
}

#[test_log::test(tokio::test)]
async fn a_lease_that_has_seen_every_message_asks_redis_nothing() {
    let server = RedisServer::standalone(&["--appendonly", "no"]);
    let (storage, at, sub) = orders(&server).await;
    append(&storage, &at, "m0").await;
    append(&storage, &at, "m1").await;
    let first = storage
        .lease(&sub, &at, lease_request(10, T0))
        .await
        .expect("lease");
    assert_eq!(first.leased.len(), 2);

    tracing::info!("act: three leases with nothing new");
    let reads_before = calls(&server, "hmget") + calls(&server, "xrange");
    for _ in 0..3 {
        let empty = storage
            .lease(&sub, &at, lease_request(10, T0))
            .await
            .expect("lease");
        assert!(empty.leased.is_empty(), "leased again: {:?}", empty.leased);
    }
    let reads_after = calls(&server, "hmget") + calls(&server, "xrange");
    assert_eq!(
        reads_after, reads_before,
        "leases with nothing new read Redis"
    );

    tracing::info!("a new message is leased at once");
    append(&storage, &at, "m2").await;
    let next = storage
        .lease(&sub, &at, lease_request(10, T0))
        .await
        .expect("lease");
    assert_eq!(next.leased.len(), 1);
    assert_eq!(next.leased[0].message.message.data.as_ref(), b"m2");
}

#[test_log::test(tokio::test)]
async fn an_append_that_lands_without_an_answer_is_still_leased() {
    let server = RedisServer::standalone(&["--appendonly", "no"]);
    let (storage, at, sub) = orders(&server).await;
    append(&storage, &at, "m0").await;
    let first = storage
        .lease(&sub, &at, lease_request(10, T0))
        .await
        .expect("lease");
    assert_eq!(first.leased.len(), 1, "the owner has seen m0");

    tracing::info!("arrange: Redis holds writes; the append of m1 is given up unanswered");
    server.command("CLIENT PAUSE 60000 WRITE");
    let given_up = tokio::time::timeout(
        Duration::from_millis(200),
        storage.append_fenced(
            &at,
            Epoch::SINGLE_NODE,
            vec![message("m1", T0)],
            &AppendOptions::plain(AckLevel::Leader),
        ),
    )
    .await;
    assert!(given_up.is_err(), "the append was answered: {given_up:?}");
    server.command("CLIENT UNPAUSE");

    tracing::info!("act: the owner leases after the held append ran");
    let next = storage
        .lease(&sub, &at, lease_request(10, T0))
        .await
        .expect("lease");

    tracing::info!("assert: m1 is delivered, not skipped as past the end the owner knew");
    assert_eq!(next.leased.len(), 1, "m1 was not leased: {:?}", next.leased);
    assert_eq!(next.leased[0].message.message.data.as_ref(), b"m1");
}

#[test_log::test(tokio::test)]
async fn a_lease_read_redis_refuses_fails_with_its_error_and_loses_nothing() {
    let server = RedisServer::standalone(&["--appendonly", "no"]);
    let (storage, at, sub) = orders(&server).await;
    append(&storage, &at, "m0").await;

    tracing::info!("arrange: Redis refuses XRANGE to our user");
    server.command("ACL SETUSER default -xrange");

    tracing::info!("act: a lease must read m0");
    let refused = storage.lease(&sub, &at, lease_request(10, T0)).await;

    tracing::info!("assert: the lease fails with Redis's own error, as unavailable");
    let error = refused.expect_err("a lease without its read succeeded");
    assert!(
        matches!(&error, StorageError::Unavailable { reason }
            if reason.contains("no permissions to run the 'xrange' command")),
        "{error:?}"
    );

    tracing::info!("and once Redis allows it, m0 is leased: the failed call leased nothing");
    server.command("ACL SETUSER default +xrange");
    let next = storage
        .lease(&sub, &at, lease_request(10, T0))
        .await
        .expect("lease");
    assert_eq!(next.leased.len(), 1, "{:?}", next.leased);
    assert_eq!(next.leased[0].message.message.data.as_ref(), b"m0");
    assert_eq!(
        next.leased[0].attempt, 1,
        "the refused lease counted an attempt"
    );
}

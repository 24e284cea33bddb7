//! A lease's reads go on connections of their own (`range_reader`), read
//! straight from the reply's bytes. A connection kept idle across a Redis
//! restart is replaced without an error, and each new one logs in and selects
//! the URL's database as the shared connections do.

use std::time::Duration;

use api::types::AckLevel;
use cluster::SubscriptionName;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{AppendOptions, Epoch, FencedLog, MessageLog, PartitionRef, SubscriptionState};
use testkit::redis::{RedisServer, durable_standalone, standalone_settings};
use testkit::storage::{lease_request, message, orders_with_billing};

const T0: u64 = 1_700_000_000_000;

async fn publish(storage: &RedisStorage, at: &PartitionRef, names: &[&str]) {
    let messages = names
        .iter()
        .map(|name| message(name.to_string(), T0))
        .collect();
    storage
        .append_fenced(
            at,
            Epoch::SINGLE_NODE,
            messages,
            &AppendOptions::plain(AckLevel::Leader),
        )
        .await
        .expect("append");
}

/// The payloads a lease of up to 10 delivers.
async fn leased(
    storage: &RedisStorage,
    sub: &SubscriptionName,
    at: &PartitionRef,
) -> Result<Vec<String>, String> {
    let leased = storage
        .lease(sub, at, lease_request(10, T0))
        .await
        .map_err(|e| e.to_string())?;
    Ok(leased
        .leased
        .iter()
        .map(|m| String::from_utf8_lossy(&m.message.message.data).into_owned())
        .collect())
}

#[test_log::test(tokio::test)]
async fn a_read_connection_kept_across_a_redis_restart_is_replaced_without_an_error() {
    tracing::info!("arrange: a lease has read on a connection that is now kept idle");
    let (mut redis, settings) = durable_standalone();
    let storage = RedisStorage::connect(&settings).await.expect("connect");
    let (at, sub) = orders_with_billing(&storage).await;
    publish(&storage, &at, &["m0", "m1"]).await;
    assert_eq!(
        leased(&storage, &sub, &at).await,
        Ok(vec!["m0".into(), "m1".into()])
    );

    tracing::info!("act: Redis restarts; once ready, two more messages are published");
    redis.kill();
    redis.restart();
    testkit::wait_for("a passing ping", Duration::from_secs(10), || async {
        storage.ping().await.ok()
    })
    .await
    .expect("Redis is back");
    publish(&storage, &at, &["m2", "m3"]).await;

    tracing::info!("assert: the lease that must read them gets them at the first try");
    assert_eq!(
        leased(&storage, &sub, &at).await,
        Ok(vec!["m2".into(), "m3".into()])
    );
}

#[test_log::test(tokio::test)]
async fn reads_log_in_and_select_the_database_as_the_settings_say() {
    tracing::info!("arrange: a Redis that wants a password, with an ACL user too");
    let redis = RedisServer::standalone(&[]);
    assert!(
        redis
            .command("ACL SETUSER reader on >r3ader ~* &* +@all")
            .contains("OK")
    );
    assert!(
        redis
            .command("CONFIG SET requirepass s3cret")
            .contains("OK")
    );
    let url = |login: &str| {
        format!(
            "{}/3",
            redis
                .url()
                .replace("redis://", &format!("redis://{login}@"))
        )
    };
    let logins = [
        ("the URL's password", standalone_settings(url(":s3cret"))),
        (
            "the URL's ACL user",
            standalone_settings(url("reader:r3ader")),
        ),
        (
            "--redis-password",
            RedisSettings {
                password: Some("s3cret".to_owned()),
                ..standalone_settings(url(""))
            },
        ),
    ];
    for (login, settings) in logins {
        tracing::info!("act: publish two messages and lease them, logged in by {login}");
        let storage = RedisStorage::connect(&settings).await.expect("connect");
        let (at, sub) = orders_with_billing(&storage).await;
        publish(&storage, &at, &["m0", "m1"]).await;

        tracing::info!("assert: the lease's read found them in database 3");
        assert_eq!(
            leased(&storage, &sub, &at).await,
            Ok(vec!["m0".into(), "m1".into()]),
            "{login}"
        );
    }
}

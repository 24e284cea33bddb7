//! The on-disk format against data dirs each format version wrote: the
//! fixtures under `tests/fixtures/format-vN/` (a Raft log with a snapshot and
//! entries after it, from [`fixture_commands`]) must load in every later
//! release, and today's encoding of the current version's commands must stay
//! what it was.
//! A change of a stored type fails these tests until it adds a format version
//! with a migration (see `raft/src/log_format.rs`).

use std::path::PathBuf;
use std::time::Duration;

use cluster::subscription::{DeadLetterPolicy, DeliveryMode, RetryPolicy, StartPosition};
use cluster::{
    AckPolicy, Command, Compression, Discard, MemberId, Metadata, PushConfig, Retention,
    SubscriptionConfig, SubscriptionName, SubscriptionType, TopicConfig,
};
use raft::{Consensus, ConsensusConfig, versioned_postcard};
use tokio::net::TcpListener;

use crate::harness::{WAIT, id, topic};

use versioned_postcard::{FORMAT_V1, FORMAT_V2};

fn fixture_dir(version: u8) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/format-v{version}"))
}

fn subscription(name: &str) -> SubscriptionName {
    SubscriptionName::new(name).expect("valid name")
}

fn member(name: &str) -> MemberId {
    MemberId::new(name).expect("valid member id")
}

/// One of every command of format `version`, with every optional setting set
/// somewhere.
fn fixture_commands(version: u8) -> Vec<Command> {
    let mut commands = format_v1_commands();
    if version >= FORMAT_V2 {
        // Node 2 back, and one bounded step moving its partitions to it.
        let back = Command::SetNodeLive {
            id: id(2),
            live: true,
        };
        let mut metadata = metadata_after(&commands);
        let _ = metadata.apply(back.clone());
        let moves = metadata.placement().misplaced();
        assert!(!moves.is_empty(), "the fixture's step moves something");
        commands.extend([back, Command::MovePartitions { moves }]);
    }
    commands
}

/// Every command of format 1.
fn format_v1_commands() -> Vec<Command> {
    let bounded = TopicConfig {
        partitions: 6,
        retention: Retention {
            max_age_millis: Some(3_600_000),
            max_bytes_per_partition: Some(1 << 20),
            max_messages_per_partition: Some(1_000),
            discard: Discard::New,
        },
        max_message_bytes: 65_536,
        dedup_window_millis: 60_000,
        ack_policy: Some(AckPolicy::Replicated(1)),
        compression: Compression::Lz4,
    };
    let dlq = SubscriptionConfig {
        kind: SubscriptionType::Shared,
        ack_deadline_seconds: 30,
        enable_message_ordering: true,
        start_position: StartPosition::Earliest,
        retry_policy: Some(RetryPolicy {
            minimum_backoff_millis: 100,
            maximum_backoff_millis: 60_000,
        }),
        dead_letter_policy: Some(DeadLetterPolicy {
            dead_letter_topic: topic("orders-dlq"),
            max_delivery_attempts: 5,
        }),
        delivery_mode: DeliveryMode::ExactlyOnce,
        push: None,
        ..SubscriptionConfig::new(topic("orders"))
    };
    let pushed = SubscriptionConfig {
        push: Some(PushConfig {
            endpoint: "https://hooks.example/orders".to_owned(),
            max_outstanding: 8,
            secret: Some("s3cret".to_owned()),
        }),
        ..SubscriptionConfig::new(topic("orders"))
    };
    let group = SubscriptionConfig {
        kind: SubscriptionType::Partitioned,
        delivery_mode: DeliveryMode::AtMostOnce,
        ..SubscriptionConfig::new(topic("orders"))
    };
    let register = |n: u64| Command::RegisterNode {
        id: id(n),
        peer_addr: format!("node-{n}:8082"),
    };
    vec![
        register(1),
        register(2),
        Command::CreateTopic {
            name: topic("orders"),
            config: bounded,
            at_millis: 1_000,
        },
        Command::CreateTopic {
            name: topic("orders-dlq"),
            config: TopicConfig::default(),
            at_millis: 1_001,
        },
        Command::CreateTopic {
            name: topic("scratch"),
            config: TopicConfig::default(),
            at_millis: 1_002,
        },
        Command::CreateSubscription {
            name: subscription("orders-billing"),
            config: dlq,
            at_millis: 2_000,
        },
        Command::CreateSubscription {
            name: subscription("orders-hook"),
            config: pushed,
            at_millis: 2_001,
        },
        Command::CreateSubscription {
            name: subscription("orders-workers"),
            config: group,
            at_millis: 2_002,
        },
        // The snapshot (taken every 8 entries) falls about here; the rest
        // stays in the log.
        Command::JoinGroup {
            subscription: subscription("orders-workers"),
            member_id: member("worker-a"),
            session_timeout_millis: 10_000,
            at_millis: 3_000,
        },
        Command::JoinGroup {
            subscription: subscription("orders-workers"),
            member_id: member("worker-b"),
            session_timeout_millis: 10_000,
            at_millis: 3_001,
        },
        Command::Heartbeat {
            subscription: subscription("orders-workers"),
            member_id: member("worker-a"),
            generation: 2,
            at_millis: 4_000,
        },
        Command::LeaveGroup {
            subscription: subscription("orders-workers"),
            member_id: member("worker-b"),
        },
        Command::ExpireMembers {
            subscription: subscription("orders-workers"),
            at_millis: 5_000,
        },
        register(3),
        Command::Rebalance,
        Command::SetNodeLive {
            id: id(2),
            live: false,
        },
        Command::RemoveNode { id: id(3) },
        Command::DeleteSubscription {
            name: subscription("orders-hook"),
        },
        Command::DeleteTopic {
            name: topic("scratch"),
        },
    ]
}

/// The metadata `commands` make, applied here by today's code.
fn metadata_after(commands: &[Command]) -> Metadata {
    let mut metadata = Metadata::default();
    for command in commands {
        let _ = metadata.apply(command.clone());
    }
    metadata
}

fn config(dir: &std::path::Path, listener: &TcpListener) -> anyhow::Result<ConsensusConfig> {
    let mut config = ConsensusConfig::new(id(1), dir, listener.local_addr()?);
    config.heartbeat = Duration::from_millis(100);
    config.election_timeout = (Duration::from_millis(300), Duration::from_millis(600));
    config.snapshot_after_entries = 8;
    config.log_entries_kept_after_snapshot = 0;
    Ok(config)
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_data_dir_written_by_format_v1_loads_with_its_snapshot_and_log() -> anyhow::Result<()> {
    data_dir_loads(FORMAT_V1).await
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_data_dir_written_by_format_v2_loads_with_its_snapshot_and_log() -> anyhow::Result<()> {
    data_dir_loads(FORMAT_V2).await
}

async fn data_dir_loads(version: u8) -> anyhow::Result<()> {
    tracing::info!(version, "--- arrange: a copy of the fixture data dir");
    let dir = tempfile::tempdir()?;
    std::fs::copy(
        fixture_dir(version).join("raft.redb"),
        dir.path().join("raft.redb"),
    )?;

    tracing::info!("--- act: start a node on it");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let node = Consensus::start_on(config(dir.path(), &listener)?, listener).await?;
    let m = node.wait_until(WAIT, |m| m.leader == Some(id(1))).await?;

    tracing::info!(
        ?m,
        "--- assert: a snapshot and entries after it, the metadata they make"
    );
    let snapshot = m.snapshot_index.expect("the fixture has a snapshot");
    assert!(
        m.last_log_index.is_some_and(|last| last > snapshot),
        "the fixture keeps entries after its snapshot: {m:?}"
    );
    let applied = node.read(Metadata::clone).await?;
    assert_eq!(applied, metadata_after(&fixture_commands(version)));
    assert!(
        applied
            .topic(&topic("orders"))
            .is_some_and(|t| t.config.retention.discard == Discard::New)
    );

    tracing::info!("--- and the group goes on from there");
    node.propose(Command::CreateTopic {
        name: topic("after-upgrade"),
        config: TopicConfig::default(),
        at_millis: 9_000,
    })
    .await?;
    node.shutdown().await;
    Ok(())
}

#[test_log::test]
fn commands_encode_as_each_format_wrote_them() -> anyhow::Result<()> {
    for version in [FORMAT_V1, FORMAT_V2] {
        let written = std::fs::read(fixture_dir(version).join("commands.bin"))?;
        assert_eq!(written[0], version);
        let read: Vec<Command> = versioned_postcard::decode_migrating(&written, |_, body| {
            versioned_postcard::decode_body(body)
        })?;
        assert_eq!(
            read,
            fixture_commands(version),
            "format v{version} commands read as today's"
        );
        if versioned_postcard::CURRENT == version {
            assert_eq!(
                versioned_postcard::encode(&fixture_commands(version))?,
                written,
                "the layout of a stored type changed: add a format version and a migration (raft/src/log_format.rs)"
            );
        }
    }
    Ok(())
}

/// Writes the fixture for the current format. Run it once per new format
/// version, never to refresh an existing one:
/// `cargo test -p pubsubgo-raft --test consensus write_the_format_fixture -- --ignored`.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
#[ignore = "writes the checked-in fixture"]
async fn write_the_format_fixture() -> anyhow::Result<()> {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/fixtures/format-v{}",
        versioned_postcard::CURRENT
    ));
    std::fs::create_dir_all(&out)?;
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let node = Consensus::start_on(config(dir.path(), &listener)?, listener).await?;
    node.wait_until(WAIT, |m| m.leader == Some(id(1))).await?;
    for command in fixture_commands(versioned_postcard::CURRENT) {
        // Rejections are outcomes too, and part of the log.
        let _ = node.propose(command).await;
    }
    let m = node
        .wait_until(WAIT, |m| {
            m.snapshot_index
                .is_some_and(|s| m.applied_index.is_some_and(|a| a > s))
        })
        .await?;
    tracing::info!(?m, "written");
    node.shutdown().await;
    std::fs::copy(dir.path().join("raft.redb"), out.join("raft.redb"))?;
    std::fs::write(
        out.join("commands.bin"),
        versioned_postcard::encode(&fixture_commands(versioned_postcard::CURRENT))?,
    )?;
    Ok(())
}

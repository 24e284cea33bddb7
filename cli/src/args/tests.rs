//! Parsing of the command line, including the usage errors that exit with code 2.
//! The flags of delivery semantics (delay, TTL, policies, nack, seek, dead letters) are
//! tested in [`delivery`], those of consumer groups in [`groups`].

mod delivery;
mod groups;

use clap::error::ErrorKind;

use super::*;
use crate::failure::exit_code;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("pubsub-cli").chain(args.iter().copied()))
}

#[test]
fn global_flags_have_documented_defaults() {
    let cli = parse(&["topics", "list"]).expect("parses");
    // PUBSUB_SERVER may be set in a developer's shell; the default applies otherwise.
    if std::env::var_os("PUBSUB_SERVER").is_none() {
        assert_eq!(cli.server, "http://localhost:8081");
    }
    assert_eq!(cli.format, Format::Table);
    assert_eq!(cli.timeout, 30);
    if std::env::var_os("PUBSUB_HTTP2").is_none() {
        assert!(!cli.http2, "HTTP/1.1 unless asked");
    }
    assert!(matches!(
        cli.command,
        Command::Topics(TopicsCommand::List(ListArgs { page_size: None }))
    ));
}

#[test]
fn global_flags_are_accepted_after_the_verb() {
    let cli = parse(&[
        "topics",
        "get",
        "orders",
        "--format",
        "json",
        "--server",
        "http://x:1",
        "--http2",
    ])
    .expect("parses");
    assert_eq!(cli.format, Format::Json);
    assert_eq!(cli.server, "http://x:1");
    assert!(cli.http2);
}

#[test]
fn topic_create_parses_durations() {
    let cli = parse(&[
        "topics",
        "create",
        "orders",
        "--partitions",
        "4",
        "--retention",
        "604800s",
        "--max-message-bytes",
        "1024",
        "--dedup-window",
        "0.5s",
        "--ack-level",
        "replicated:2",
        "--storage-compression",
        "lz4",
    ])
    .expect("parses");
    let Command::Topics(TopicsCommand::Create(args)) = cli.command else {
        panic!("expected topics create, got {:?}", cli.command);
    };
    assert_eq!(args.partitions, Some(4));
    assert_eq!(args.retention, Some(Duration::from_secs(604_800)));
    assert_eq!(args.dedup_window, Some(Duration::from_millis(500)));
    assert_eq!(args.max_message_bytes, Some(1024));
    assert_eq!(args.ack_level, Some(api::types::AckLevel::Replicated(2)));
    assert_eq!(
        args.storage_compression,
        Some(crate::args::topics::StorageCompression::Lz4)
    );

    let err = parse(&["topics", "create", "orders", "--ack-level", "replicated:0"])
        .expect_err("replicated:0");
    assert_eq!(err.kind(), ErrorKind::ValueValidation);

    let err = parse(&["topics", "create", "orders", "--retention", "7d"]).expect_err("7d");
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
}

#[test]
fn publish_collects_attributes_and_options() {
    let cli = parse(&[
        "publish",
        "orders",
        "--data",
        "hello",
        "--attr",
        "a=1",
        "--attr",
        "b=x=y",
        "--attr",
        "empty=",
        "--key",
        "k1",
        "--priority",
        "9",
        "--compression",
        "lz4",
        "--count",
        "2500",
        "--batch",
        "500",
    ])
    .expect("parses");
    let Command::Publish(args) = cli.command else {
        panic!("expected publish, got {:?}", cli.command);
    };
    assert_eq!(args.data.as_deref(), Some("hello"));
    assert_eq!(
        args.attributes,
        [("a", "1"), ("b", "x=y"), ("empty", "")].map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    assert_eq!(args.ordering_key.as_deref(), Some("k1"));
    assert_eq!(args.priority, Some(9));
    assert_eq!(args.compression, Some(CompressionArg::Lz4));
    assert_eq!((args.count, args.batch_size), (2500, 500));
}

#[test]
fn publish_rejects_bad_values_as_usage_errors() {
    for bad in [
        &["publish", "t", "--data", "x", "--file", "f"][..],
        &["publish", "t", "--priority", "10"],
        &["publish", "t", "--batch", "1001"],
        &["publish", "t", "--count", "0"],
        &["publish", "t", "--compression", "gzip"],
        &["publish", "t", "--attr", "novalue"],
        &["publish", "t", "--attr", "=v"],
    ] {
        let err = parse(bad).expect_err("should be rejected");
        assert_eq!(
            err.exit_code(),
            i32::from(exit_code::USAGE),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn attribute_errors_say_what_is_wrong() {
    assert_eq!(
        parse_attribute("novalue"),
        Err(r#"expected KEY=VALUE, got "novalue""#.to_owned())
    );
    assert_eq!(
        parse_attribute("=v"),
        Err(r#"attribute key is empty in "=v""#.to_owned())
    );
    let long_key = format!("{}=v", "k".repeat(api::limits::MAX_ATTRIBUTE_KEY_BYTES + 1));
    assert!(
        parse_attribute(&long_key)
            .expect_err("long key")
            .contains("longer than")
    );
    assert_eq!(
        parse_attribute("k=v=w"),
        Ok(("k".to_owned(), "v=w".to_owned()))
    );
}

#[test]
fn subscriptions_and_delivery_verbs_parse() {
    let cli = parse(&[
        "subscriptions",
        "create",
        "s1",
        "--topic",
        "orders",
        "--ack-deadline",
        "30",
        "--ordering",
        "--start",
        "earliest",
    ])
    .expect("parses");
    let Command::Subscriptions(SubscriptionsCommand::Create(args)) = cli.command else {
        panic!("expected subscriptions create, got {:?}", cli.command);
    };
    assert_eq!(args.topic, "orders");
    assert_eq!(args.ack_deadline, Some(30));
    assert!(args.ordering);
    assert_eq!(args.start, Some(StartArg::Earliest));

    let cli = parse(&["pull", "s1", "--max", "5", "--wait", "2", "--ack"]).expect("pull");
    assert!(matches!(
        cli.command,
        Command::Pull(PullArgs {
            max: Some(5),
            wait: Some(2),
            ack: true,
            ..
        })
    ));
    let cli = parse(&["subscribe", "s1"]).expect("subscribe");
    assert!(matches!(
        cli.command,
        Command::Subscribe(SubscribeArgs {
            credit: 100,
            max_messages: None,
            no_ack: false,
            ..
        })
    ));
    let cli = parse(&["nack", "s1", "a", "b"]).expect("nack");
    assert!(matches!(
        cli.command,
        Command::Nack(NackArgs { ref messages, delay: None, reason: None })
            if messages.ack_ids.len() == 2
    ));
}

#[test]
fn missing_pieces_are_usage_errors() {
    for bad in [
        &["subscriptions", "create", "s1"][..],
        &["ack", "s1"],
        &["pull", "s1", "--wait", "61"],
        &["topics"],
        &["frobnicate"],
        &["--format", "yaml", "topics", "list"],
    ] {
        let err = parse(bad).expect_err("should be rejected");
        assert_eq!(
            err.exit_code(),
            i32::from(exit_code::USAGE),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn cluster_verbs_parse_and_a_bad_node_id_is_a_usage_error() {
    use super::cluster::{RebalanceArgs, RemoveNodeArgs, StatusArgs};
    let cluster = |line: &[&str]| match parse(line).expect("parses").command {
        Command::Cluster(command) => command,
        other => panic!("expected a cluster command, got {other:?}"),
    };
    assert!(matches!(
        cluster(&["cluster", "status"]),
        ClusterCommand::Status(StatusArgs { owners: false })
    ));
    assert!(matches!(
        cluster(&["cluster", "status", "--owners"]),
        ClusterCommand::Status(StatusArgs { owners: true })
    ));
    assert!(matches!(
        cluster(&["cluster", "rebalance"]),
        ClusterCommand::Rebalance(RebalanceArgs { dry_run: false })
    ));
    assert!(matches!(
        cluster(&["cluster", "rebalance", "--dry-run"]),
        ClusterCommand::Rebalance(RebalanceArgs { dry_run: true })
    ));
    assert!(matches!(
        cluster(&["cluster", "remove-node", "3"]),
        ClusterCommand::RemoveNode(RemoveNodeArgs { id: 3 })
    ));
    for bad in [
        &["cluster", "remove-node"][..],
        &["cluster", "remove-node", "three"],
        &["cluster", "remove-node", "-1"],
    ] {
        let err = parse(bad).expect_err("should be rejected");
        assert_eq!(err.exit_code(), i32::from(exit_code::USAGE), "{bad:?}");
    }
}

#[test]
fn bench_servers_repeat_or_split_on_commas_and_are_taken_in_turn() {
    let cli = parse(&[
        "bench",
        "--servers",
        "http://a:1,http://b:2",
        "--servers",
        "http://c:3",
    ])
    .expect("parses");
    let Command::Bench(args) = cli.command else {
        panic!("not bench: {:?}", cli.command);
    };
    assert_eq!(args.servers, ["http://a:1", "http://b:2", "http://c:3"]);
    let turns: Vec<&str> = (0..5).map(|c| args.server_for(c, "http://x:9")).collect();
    assert_eq!(
        turns,
        [
            "http://a:1",
            "http://b:2",
            "http://c:3",
            "http://a:1",
            "http://b:2"
        ]
    );

    let alone = parse(&["bench"]).expect("parses");
    let Command::Bench(args) = alone.command else {
        panic!("not bench: {:?}", alone.command);
    };
    assert!(args.servers.is_empty());
    assert_eq!(args.server_for(3, "http://x:9"), "http://x:9");
}

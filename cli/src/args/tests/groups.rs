//! Consumer groups: `subscriptions create --type`, `groups list|describe|join` and
//! `pull --member`.

use super::*;

#[test]
fn subscriptions_are_created_shared_or_partitioned() {
    let kind = |flags: &[&str]| {
        let line = [
            &["subscriptions", "create", "s1", "--topic", "orders"][..],
            flags,
        ]
        .concat();
        match parse(&line).expect("parses").command {
            Command::Subscriptions(SubscriptionsCommand::Create(args)) => args.kind,
            other => panic!("expected subscriptions create, got {other:?}"),
        }
    };
    assert_eq!(kind(&[]), None, "the server's default applies");
    assert_eq!(
        kind(&["--type", "shared"]),
        Some(SubscriptionTypeArg::Shared)
    );
    assert_eq!(
        kind(&["--type", "partitioned"]),
        Some(SubscriptionTypeArg::Partitioned)
    );
    assert_eq!(
        SubscriptionType::from(SubscriptionTypeArg::Partitioned),
        SubscriptionType::Partitioned
    );
}

#[test]
fn groups_list_and_describe_parse() {
    let cli = parse(&["groups", "list", "--page-size", "50"]).expect("list");
    assert!(matches!(
        cli.command,
        Command::Groups(GroupsCommand::List(ListArgs {
            page_size: Some(50)
        }))
    ));
    let cli = parse(&["groups", "describe", "shards", "--format", "json"]).expect("describe");
    assert_eq!(cli.format, Format::Json);
    let Command::Groups(GroupsCommand::Describe(args)) = cli.command else {
        panic!("expected groups describe, got {:?}", cli.command);
    };
    assert_eq!(args.subscription, "shards");
}

#[test]
fn groups_join_takes_a_session_timeout_a_limit_and_no_ack() {
    let join = |flags: &[&str]| {
        let line = [&["groups", "join", "shards"][..], flags].concat();
        match parse(&line).expect("parses").command {
            Command::Groups(GroupsCommand::Join(args)) => args,
            other => panic!("expected groups join, got {other:?}"),
        }
    };
    let plain = join(&[]);
    assert_eq!(plain.subscription, "shards");
    assert_eq!(
        (plain.session_timeout, plain.max_messages, plain.no_ack),
        (None, None, false)
    );
    let full = join(&["--session-timeout", "9", "--max-messages", "4", "--no-ack"]);
    assert_eq!(
        (full.session_timeout, full.max_messages, full.no_ack),
        (Some(9), Some(4), true)
    );
}

#[test]
fn pull_takes_a_member_id() {
    let cli = parse(&["pull", "shards", "--member", "m-1f-3", "--wait", "5"]).expect("parses");
    let Command::Pull(args) = cli.command else {
        panic!("expected pull, got {:?}", cli.command);
    };
    assert_eq!(args.member_id.as_deref(), Some("m-1f-3"));
    let cli = parse(&["pull", "shards"]).expect("parses");
    assert!(matches!(
        cli.command,
        Command::Pull(PullArgs {
            member_id: None,
            ..
        })
    ));
}

#[test]
fn group_mistakes_are_usage_errors() {
    for bad in [
        &["groups"][..],
        &["groups", "describe"],
        &["groups", "join"],
        &["groups", "join", "shards", "--max-messages", "0"],
        &["groups", "join", "shards", "--session-timeout", "-1"],
        &["groups", "leave", "shards"],
        &[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--type",
            "exclusive",
        ],
        &["pull", "shards", "--member"],
    ] {
        let err = parse(bad).expect_err("should be rejected");
        assert_eq!(
            err.exit_code(),
            i32::from(exit_code::USAGE),
            "{bad:?}: {err}"
        );
    }
}

//! Flags of delivery semantics: `--deliver-after`/`--ttl`, retry and dead-letter policies,
//! delivery modes, `nack --delay --reason`, the seek targets, `resume-key` and `dlq`.

use super::*;

#[test]
fn publish_takes_delay_and_ttl_in_seconds() {
    let cli = parse(&[
        "publish",
        "orders",
        "--data",
        "x",
        "--deliver-after",
        "30s",
        "--ttl",
        "3600s",
    ])
    .expect("parses");
    let Command::Publish(args) = cli.command else {
        panic!("expected publish, got {:?}", cli.command);
    };
    assert_eq!(args.deliver_after, Some(Duration::from_secs(30)));
    assert_eq!(args.ttl, Some(Duration::from_secs(3600)));

    let cli = parse(&["publish", "orders", "--data", "x"]).expect("parses");
    let Command::Publish(args) = cli.command else {
        panic!("expected publish, got {:?}", cli.command);
    };
    assert_eq!((args.deliver_after, args.ttl), (None, None));
}

#[test]
fn durations_in_other_forms_are_usage_errors_that_suggest_seconds() {
    for (flag, bad) in [
        ("--ttl", "1h"),
        ("--ttl", "3600"),
        ("--ttl", "0s"),
        ("--ttl", "1.5h"),
        ("--deliver-after", "30 s"),
        ("--deliver-after", "604801s"),
    ] {
        let err = parse(&["publish", "t", "--data", "x", flag, bad]).expect_err(bad);
        assert_eq!(
            err.kind(),
            ErrorKind::ValueValidation,
            "{flag} {bad}: {err}"
        );
        assert_eq!(
            err.exit_code(),
            i32::from(exit_code::USAGE),
            "{flag} {bad}: {err}"
        );
    }
    assert_eq!(
        parse_duration("1h"),
        Err(
            r#"expected seconds with an 's' suffix, like "30s" or "0.5s"; write "1h" as "3600s""#
                .to_owned()
        )
    );
    assert!(
        parse_duration("500ms")
            .expect_err("ms")
            .ends_with(r#"as "0.5s""#)
    );
    assert!(
        parse_duration("2d")
            .expect_err("d")
            .ends_with(r#"as "172800s""#)
    );
    assert!(
        parse_duration("90")
            .expect_err("bare")
            .ends_with(r#"as "90s""#)
    );
    assert!(
        parse_duration("soon")
            .expect_err("word")
            .ends_with(r#"got "soon""#)
    );
    assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
    assert_eq!(
        parse_deliver_after("604800s"),
        Ok(Duration::from_secs(604_800))
    );
    assert_eq!(parse_ttl("0s"), Err("must be more than 0s".to_owned()));
}

#[test]
fn subscription_policies_parse() {
    let cli = parse(&[
        "subscriptions",
        "create",
        "s1",
        "--topic",
        "orders",
        "--min-backoff",
        "10s",
        "--max-backoff",
        "600s",
        "--dead-letter-topic",
        "orders-dlq",
        "--max-delivery-attempts",
        "5",
        "--delivery-mode",
        "at-most-once",
    ])
    .expect("parses");
    let Command::Subscriptions(SubscriptionsCommand::Create(args)) = cli.command else {
        panic!("expected subscriptions create, got {:?}", cli.command);
    };
    assert_eq!(args.min_backoff, Some(Duration::from_secs(10)));
    assert_eq!(args.max_backoff, Some(Duration::from_secs(600)));
    assert_eq!(args.dead_letter_topic.as_deref(), Some("orders-dlq"));
    assert_eq!(args.max_delivery_attempts, Some(5));
    assert_eq!(args.delivery_mode, Some(DeliveryModeArg::AtMostOnce));
    for (mode, expected) in [
        ("at-least-once", DeliveryMode::AtLeastOnce),
        ("exactly-once", DeliveryMode::ExactlyOnce),
    ] {
        let cli = parse(&[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--delivery-mode",
            mode,
        ])
        .expect(mode);
        let Command::Subscriptions(SubscriptionsCommand::Create(args)) = cli.command else {
            panic!("expected subscriptions create, got {:?}", cli.command);
        };
        assert_eq!(args.delivery_mode.map(DeliveryMode::from), Some(expected));
    }
}

#[test]
fn subscription_policy_mistakes_are_usage_errors() {
    for bad in [
        &[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--min-backoff",
            "10",
        ][..],
        &[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--max-backoff",
            "10m",
        ],
        &[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--max-delivery-attempts",
            "5",
        ],
        &[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--max-delivery-attempts",
            "x",
        ],
        &[
            "subscriptions",
            "create",
            "s1",
            "--topic",
            "t",
            "--delivery-mode",
            "once",
        ],
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
fn nack_takes_a_delay_and_a_reason() {
    let cli = parse(&["nack", "s1", "a", "b", "--delay", "30", "--reason", "boom"]).expect("nack");
    let Command::Nack(args) = cli.command else {
        panic!("expected nack, got {:?}", cli.command);
    };
    assert_eq!(args.messages.subscription, "s1");
    assert_eq!(args.messages.ack_ids, ["a", "b"]);
    assert_eq!(args.delay, Some(30));
    assert_eq!(args.reason.as_deref(), Some("boom"));

    for bad in [
        &["nack", "s1", "--reason", "boom"][..],
        &["nack", "s1", "a", "--delay", "-1"],
        &["nack", "s1", "a", "--delay", "30s"],
    ] {
        let err = parse(bad).expect_err("should be rejected");
        assert_eq!(
            err.exit_code(),
            i32::from(exit_code::USAGE),
            "{bad:?}: {err}"
        );
    }
}

fn seek_args(args: &[&str]) -> Result<SeekArgs, clap::Error> {
    let line: Vec<&str> = ["subscriptions", "seek", "s1"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    match parse(&line)?.command {
        Command::Subscriptions(SubscriptionsCommand::Seek(args)) => Ok(args),
        other => panic!("expected subscriptions seek, got {other:?}"),
    }
}

#[test]
fn seek_takes_exactly_one_target() {
    let earliest = seek_args(&["--earliest"]).expect("earliest").request();
    assert_eq!(earliest.position, Some(StartPosition::Earliest));
    assert_eq!(earliest.time, None);
    let latest = seek_args(&["--latest"]).expect("latest").request();
    assert_eq!(latest.position, Some(StartPosition::Latest));
    let at = seek_args(&["--time", "2026-11-25T19:42:02.5+02:00"])
        .expect("time")
        .request();
    assert_eq!(at.time.as_deref(), Some("2026-11-25T17:42:02.500Z"));
    assert_eq!(at.position, None);

    let none = seek_args(&[]).expect_err("no target");
    assert_eq!(none.kind(), ErrorKind::MissingRequiredArgument, "{none}");
    for two in [
        &["--earliest", "--latest"][..],
        &["--time", "2026-11-25T17:42:02Z", "--earliest"],
        &["--latest", "--time", "2026-11-25T17:42:02Z"],
    ] {
        let err = seek_args(two).expect_err("two targets");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{two:?}: {err}");
        assert_eq!(err.exit_code(), i32::from(exit_code::USAGE));
    }
    let bad_time = seek_args(&["--time", "yesterday"]).expect_err("not RFC 3339");
    assert_eq!(bad_time.kind(), ErrorKind::ValueValidation, "{bad_time}");
}

#[test]
fn resume_key_and_dlq_verbs_parse() {
    let cli = parse(&["subscriptions", "resume-key", "s1", "acct-a"]).expect("resume-key");
    assert!(matches!(
        cli.command,
        Command::Subscriptions(SubscriptionsCommand::ResumeKey(ResumeKeyArgs { ref ordering_key, .. }))
            if ordering_key == "acct-a"
    ));

    let cli = parse(&["dlq", "list", "s1", "--max", "20"]).expect("dlq list");
    assert!(matches!(
        cli.command,
        Command::Dlq(DlqCommand::List(DlqListArgs { max: Some(20), .. }))
    ));

    let cli = parse(&[
        "dlq",
        "redrive",
        "s1",
        "--max",
        "10",
        "--min-attempts",
        "5",
        "--published-after",
        "2026-11-25T00:00:00Z",
        "--published-before",
        "2026-11-26T00:00:00Z",
        "--rate",
        "50",
    ])
    .expect("dlq redrive");
    let Command::Dlq(DlqCommand::Redrive(args)) = cli.command else {
        panic!("expected dlq redrive, got {:?}", cli.command);
    };
    assert_eq!(args.subscription, "s1");
    assert_eq!(
        (args.max, args.min_attempts, args.rate),
        (Some(10), Some(5), Some(50))
    );
    assert_eq!(
        args.published_after.map(|t| t.to_string()).as_deref(),
        Some("2026-11-25T00:00:00.000Z")
    );
    assert_eq!(
        args.published_before.map(|t| t.to_string()).as_deref(),
        Some("2026-11-26T00:00:00.000Z")
    );

    for bad in [
        &["subscriptions", "resume-key", "s1"][..],
        &["dlq", "list"],
        &["dlq", "list", "s1", "--max", "0"],
        &["dlq", "redrive", "s1", "--rate", "0"],
        &["dlq", "redrive", "s1", "--published-after", "2026-11-25"],
        &["dlq"],
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
fn push_flags_make_a_push_subscription_and_need_an_endpoint() {
    let cli = parse(&[
        "subscriptions",
        "create",
        "hooks",
        "--topic",
        "orders",
        "--push-endpoint",
        "http://127.0.0.1:9000/hook",
        "--push-max-outstanding",
        "10",
        "--push-secret",
        "s3cret",
    ])
    .expect("parses");
    let Command::Subscriptions(SubscriptionsCommand::Create(args)) = cli.command else {
        panic!("expected subscriptions create, got {:?}", cli.command);
    };
    assert_eq!(
        args.push_endpoint.as_deref(),
        Some("http://127.0.0.1:9000/hook")
    );
    assert_eq!(
        (args.push_max_outstanding, args.push_secret.as_deref()),
        (Some(10), Some("s3cret"))
    );
    let without_endpoint = parse(&[
        "subscriptions",
        "create",
        "hooks",
        "--topic",
        "orders",
        "--push-secret",
        "x",
    ]);
    assert!(
        without_endpoint.is_err(),
        "a secret without an endpoint is a usage error"
    );
}

//! `subscriptions list|create|get|delete|seek|resume-key`.

use api::types::{
    CreateSubscriptionRequest, DeadLetterPolicySpec, ListSubscriptionsResponse, PushConfig,
    RetryPolicySpec, SeekRequest, StartPosition, Subscription, SubscriptionStats,
};
use serde::Serialize;

use super::{Context, all_pages};
use crate::args::{
    CreateSubscriptionArgs, Format, ListArgs, NameArg, ResumeKeyArgs, SeekArgs,
    SubscriptionsCommand,
};
use crate::output::{TextTable, age_text, fields, print_json, print_text};

pub async fn run(ctx: &Context, command: SubscriptionsCommand) -> anyhow::Result<()> {
    match command {
        SubscriptionsCommand::List(args) => list(ctx, args).await,
        SubscriptionsCommand::Create(args) => create(ctx, args).await,
        SubscriptionsCommand::Get(NameArg { name }) => get(ctx, &name).await,
        SubscriptionsCommand::Delete(NameArg { name }) => delete(ctx, &name).await,
        SubscriptionsCommand::Seek(args) => seek(ctx, args).await,
        SubscriptionsCommand::ResumeKey(args) => resume_key(ctx, args).await,
    }
}

async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let page_size = args.page_size;
    let subscriptions = all_pages(|token| async move {
        let page = ctx
            .client
            .list_subscriptions(page_size, token.as_deref())
            .await?;
        Ok((page.subscriptions, page.next_page_token))
    })
    .await?;
    match ctx.format {
        Format::Json => print_json(&ListSubscriptionsResponse {
            subscriptions,
            next_page_token: None,
        }),
        Format::Table if subscriptions.is_empty() => {
            print_text("no subscriptions");
            Ok(())
        }
        Format::Table => {
            print_text(&subscriptions_table(&subscriptions));
            Ok(())
        }
    }
}

async fn create(ctx: &Context, args: CreateSubscriptionArgs) -> anyhow::Result<()> {
    let name = args.name.clone();
    let request = create_request(args);
    let subscription = ctx.client.create_subscription(&name, &request).await?;
    match ctx.format {
        Format::Json => print_json(&subscription),
        Format::Table => {
            print_text(&format!(
                "created subscription {}\n{}",
                subscription.name,
                subscription_text(&subscription)
            ));
            Ok(())
        }
    }
}

/// The request body; policies are sent only when one of their flags is given, so the
/// server's defaults apply otherwise.
fn create_request(args: CreateSubscriptionArgs) -> CreateSubscriptionRequest {
    let retry_policy =
        (args.min_backoff.is_some() || args.max_backoff.is_some()).then_some(RetryPolicySpec {
            minimum_backoff: args.min_backoff,
            maximum_backoff: args.max_backoff,
        });
    let dead_letter_policy = args
        .dead_letter_topic
        .map(|dead_letter_topic| DeadLetterPolicySpec {
            dead_letter_topic,
            max_delivery_attempts: args.max_delivery_attempts,
        });
    CreateSubscriptionRequest {
        topic: args.topic,
        kind: args.kind.map(Into::into),
        ack_deadline_seconds: args.ack_deadline,
        enable_message_ordering: args.ordering.then_some(true),
        start_position: args.start.map(Into::into),
        retry_policy,
        dead_letter_policy,
        delivery_mode: args.delivery_mode.map(Into::into),
        push_config: args.push_endpoint.map(|endpoint| PushConfig {
            endpoint,
            max_outstanding: args.push_max_outstanding,
            secret: args.push_secret,
        }),
    }
}

async fn get(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let subscription = ctx.client.get_subscription(name).await?;
    match ctx.format {
        Format::Json => print_json(&subscription),
        Format::Table => {
            print_text(&subscription_text(&subscription));
            Ok(())
        }
    }
}

async fn delete(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let answer = ctx.client.delete_subscription(name).await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&format!("deleted subscription {name}"));
            Ok(())
        }
    }
}

async fn seek(ctx: &Context, args: SeekArgs) -> anyhow::Result<()> {
    let request = args.request();
    let answer = ctx.client.seek(&args.subscription, &request).await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&sought_text(&args.subscription, &request));
            Ok(())
        }
    }
}

fn sought_text(subscription: &str, request: &SeekRequest) -> String {
    let target = match (&request.time, request.position) {
        (Some(time), _) => {
            format!("{time}: messages published before it count as acknowledged, later ones as new")
        }
        (None, Some(StartPosition::Earliest)) => {
            "the earliest retained message: every retained message is delivered again".to_owned()
        }
        (None, Some(StartPosition::Latest) | None) => {
            "the end: only messages published from now on are delivered".to_owned()
        }
    };
    format!("subscription {subscription} now reads from {target}")
}

async fn resume_key(ctx: &Context, args: ResumeKeyArgs) -> anyhow::Result<()> {
    let answer = ctx
        .client
        .resume_ordering_key(&args.subscription, &args.ordering_key)
        .await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&resumed_text(&args.ordering_key, answer.resumed));
            Ok(())
        }
    }
}

fn resumed_text(key: &str, resumed: bool) -> String {
    if resumed {
        format!("ordering key {key:?} was parked and is delivered again")
    } else {
        format!("ordering key {key:?} was not parked; nothing changed")
    }
}

fn subscriptions_table(subscriptions: &[Subscription]) -> String {
    let mut table = TextTable::new(&[
        "name",
        "topic",
        "type",
        "ack deadline",
        "ordering",
        "start",
        "created",
    ]);
    for s in subscriptions {
        table.row(vec![
            TextTable::text(&s.name),
            TextTable::text(&s.topic),
            TextTable::text(kind_text(s)),
            TextTable::text(format!("{}s", s.ack_deadline_seconds)),
            TextTable::text(yes_no(s.enable_message_ordering)),
            TextTable::text(start_text(s.start_position)),
            TextTable::text(&s.create_time),
        ]);
    }
    table.render()
}

/// Settings as labelled lines, then the per-partition backlog when the server sent stats.
fn subscription_text(s: &Subscription) -> String {
    let mut rows = vec![
        ("name", s.name.clone()),
        ("topic", s.topic.clone()),
        ("type", kind_text(s)),
        ("ack deadline", format!("{}s", s.ack_deadline_seconds)),
        ("ordering", yes_no(s.enable_message_ordering).to_owned()),
        ("start", start_text(s.start_position).to_owned()),
        ("delivery mode", wire_text(&s.delivery_mode)),
        ("retry backoff", retry_text(s.retry_policy.as_ref())),
        (
            "dead letters",
            dead_letter_text(s.dead_letter_policy.as_ref()),
        ),
        ("push", push_text(s)),
        ("created", s.create_time.clone()),
    ];
    let Some(stats) = &s.stats else {
        return fields(&rows);
    };
    rows.push(("backlog", stats.backlog_messages.to_string()));
    rows.push(("outstanding", stats.outstanding_messages.to_string()));
    rows.push(("oldest unacked", age_text(stats.oldest_unacked_age_seconds)));
    rows.push(("expired", stats.expired_messages.to_string()));
    rows.push(("dead-lettered", stats.dead_lettered_messages.to_string()));
    rows.push(("parked keys", parked_text(&stats.parked_ordering_keys)));
    format!("{}\n\n{}", fields(&rows), partitions_table(stats))
}

fn push_text(s: &Subscription) -> String {
    match &s.push_config {
        None => "no (pull and stream)".to_owned(),
        Some(push) => format!(
            "{} (max {} in flight, {})",
            push.endpoint,
            push.max_outstanding,
            if push.secret_set {
                "signed"
            } else {
                "unsigned"
            }
        ),
    }
}

fn partitions_table(stats: &SubscriptionStats) -> String {
    let mut table = TextTable::new(&["partition", "backlog", "outstanding", "oldest unacked"]);
    for p in &stats.partitions {
        table.row(vec![
            TextTable::number(p.partition),
            TextTable::number(p.backlog_messages),
            TextTable::number(p.outstanding_messages),
            TextTable::number(age_text(p.oldest_unacked_age_seconds)),
        ]);
    }
    table.render()
}

fn retry_text(policy: Option<&RetryPolicySpec>) -> String {
    let Some(policy) = policy else {
        return "none: failed messages are delivered again at once".to_owned();
    };
    let bound = |d: Option<api::duration::Duration>| {
        d.map_or_else(|| "server default".to_owned(), |d| d.to_string())
    };
    format!(
        "{} doubling to {}",
        bound(policy.minimum_backoff),
        bound(policy.maximum_backoff)
    )
}

fn dead_letter_text(policy: Option<&DeadLetterPolicySpec>) -> String {
    let Some(policy) = policy else {
        return "none".to_owned();
    };
    match policy.max_delivery_attempts {
        Some(attempts) => format!("to {} after {attempts} attempts", policy.dead_letter_topic),
        None => format!("to {}", policy.dead_letter_topic),
    }
}

fn parked_text(keys: &[String]) -> String {
    if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(", ")
    }
}

/// The wire name of the type (`shared`), so people and scripts see the same word.
fn kind_text(s: &Subscription) -> String {
    wire_text(&s.kind)
}

/// The JSON name of a unit enum value (`at-least-once`).
fn wire_text<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{value:?}"))
}

fn start_text(start: StartPosition) -> &'static str {
    match start {
        StartPosition::Latest => "latest",
        StartPosition::Earliest => "earliest",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use api::duration::Duration;
    use api::timestamp::Timestamp;
    use api::types::{DeliveryMode, PartitionBacklog, SubscriptionType};
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn sample() -> Subscription {
        Subscription {
            name: "billing".to_owned(),
            topic: "orders".to_owned(),
            kind: SubscriptionType::Shared,
            ack_deadline_seconds: 30,
            enable_message_ordering: true,
            start_position: StartPosition::Earliest,
            retry_policy: None,
            dead_letter_policy: None,
            delivery_mode: Default::default(),
            push_config: None,
            group: None,
            create_time: "2026-11-25T17:42:02.123Z".to_owned(),
            stats: Some(SubscriptionStats {
                backlog_messages: 5,
                outstanding_messages: 1,
                oldest_unacked_age_seconds: Some(1.5),
                expired_messages: 0,
                dead_lettered_messages: 0,
                parked_ordering_keys: Vec::new(),
                partitions: vec![PartitionBacklog {
                    partition: 0,
                    backlog_messages: 5,
                    outstanding_messages: 1,
                    oldest_unacked_age_seconds: Some(1.5),
                }],
            }),
        }
    }

    fn create_args(flags: &[&str]) -> CreateSubscriptionArgs {
        let line = [
            "pubsub-cli",
            "subscriptions",
            "create",
            "billing",
            "--topic",
            "orders",
        ];
        let cli = Cli::try_parse_from(line.iter().chain(flags)).expect("parses");
        match cli.command {
            Command::Subscriptions(SubscriptionsCommand::Create(args)) => args,
            other => panic!("expected subscriptions create, got {other:?}"),
        }
    }

    #[test]
    fn get_shows_settings_then_backlog_per_partition() {
        let text = subscription_text(&sample());
        assert!(
            text.starts_with(
                "name:            billing\ntopic:           orders\ntype:            shared"
            ),
            "{text}"
        );
        for line in [
            "delivery mode:   at-least-once",
            "retry backoff:   none: failed messages are delivered again at once",
            "dead letters:    none",
            "backlog:         5\noutstanding:     1\noldest unacked:  1.5s\nexpired:         0\n\
             dead-lettered:   0\nparked keys:     none",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert!(
            text.ends_with(
                "PARTITION  BACKLOG  OUTSTANDING  OLDEST UNACKED\n        \
                 0        5            1            1.5s"
            ),
            "{text}"
        );
    }

    #[test]
    fn get_shows_policies_parked_keys_and_missing_ages() {
        let mut s = sample();
        s.retry_policy = Some(RetryPolicySpec {
            minimum_backoff: Some(Duration::from_secs(10)),
            maximum_backoff: Some(Duration::from_secs(600)),
        });
        s.dead_letter_policy = Some(DeadLetterPolicySpec {
            dead_letter_topic: "orders-dlq".to_owned(),
            max_delivery_attempts: Some(5),
        });
        s.delivery_mode = DeliveryMode::ExactlyOnce;
        if let Some(stats) = &mut s.stats {
            stats.oldest_unacked_age_seconds = None;
            stats.dead_lettered_messages = 2;
            stats.parked_ordering_keys = vec!["acct-a".to_owned(), "acct-b".to_owned()];
        }
        let text = subscription_text(&s);
        for line in [
            "delivery mode:   exactly-once",
            "retry backoff:   10s doubling to 600s",
            "dead letters:    to orders-dlq after 5 attempts",
            "oldest unacked:  -",
            "dead-lettered:   2",
            "parked keys:     acct-a, acct-b",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
    }

    #[test]
    fn create_sends_policies_only_when_their_flags_are_given() {
        let plain = serde_json::to_value(create_request(create_args(&[]))).expect("serializes");
        assert_eq!(plain, serde_json::json!({"topic": "orders"}));

        let full = create_request(create_args(&[
            "--min-backoff",
            "10s",
            "--max-backoff",
            "600s",
            "--dead-letter-topic",
            "orders-dlq",
            "--max-delivery-attempts",
            "5",
            "--delivery-mode",
            "exactly-once",
        ]));
        assert_eq!(
            serde_json::to_value(full).expect("serializes"),
            serde_json::json!({
                "topic": "orders",
                "retryPolicy": {"minimumBackoff": "10s", "maximumBackoff": "600s"},
                "deadLetterPolicy": {"deadLetterTopic": "orders-dlq", "maxDeliveryAttempts": 5},
                "deliveryMode": "exactly-once",
            })
        );

        let only_max = create_request(create_args(&["--max-backoff", "60s"]));
        assert_eq!(
            only_max.retry_policy,
            Some(RetryPolicySpec {
                minimum_backoff: None,
                maximum_backoff: Some(Duration::from_secs(60)),
            })
        );
    }

    #[test]
    fn create_sends_the_type_only_when_given() {
        let partitioned = create_request(create_args(&["--type", "partitioned"]));
        assert_eq!(
            serde_json::to_value(partitioned).expect("serializes"),
            serde_json::json!({"topic": "orders", "type": "partitioned"})
        );
    }

    #[test]
    fn seek_and_resume_say_what_happened() {
        let earliest = SeekRequest {
            time: None,
            position: Some(StartPosition::Earliest),
        };
        assert_eq!(
            sought_text("billing", &earliest),
            "subscription billing now reads from the earliest retained message: \
             every retained message is delivered again"
        );
        let at = SeekRequest {
            time: Some(Timestamp(1_795_628_522_123).to_string()),
            position: None,
        };
        assert!(
            sought_text("billing", &at)
                .starts_with("subscription billing now reads from 2026-11-25T17:42:02.123Z:"),
        );
        assert_eq!(
            resumed_text("acct-a", true),
            r#"ordering key "acct-a" was parked and is delivered again"#
        );
        assert_eq!(
            resumed_text("acct-a", false),
            r#"ordering key "acct-a" was not parked; nothing changed"#
        );
    }

    #[test]
    fn list_has_a_row_per_subscription() {
        let text = subscriptions_table(&[sample()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[1].starts_with("billing  orders  shared  30s"),
            "{text}"
        );
        assert!(
            lines[1].contains("yes") && lines[1].contains("earliest"),
            "{text}"
        );
    }
}

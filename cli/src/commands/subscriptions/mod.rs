//! `subscriptions list|create|get|delete|seek|resume-key`.

use api::types::{
    CreateSubscriptionRequest, DeadLetterPolicySpec, ListSubscriptionsResponse, PushConfig,
    RetryPolicySpec, SeekRequest, StartPosition,
};

mod render;

use self::render::{subscription_text, subscriptions_table};
use super::{Context, all_subscriptions};
use crate::args::{
    CreateSubscriptionArgs, Format, ListArgs, NameArg, ResumeKeyArgs, SeekArgs,
    SubscriptionsCommand,
};
use crate::output::{print_json, print_text};

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
    let subscriptions = all_subscriptions(ctx, args.page_size).await?;
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

#[cfg(test)]
mod tests {
    use api::duration::Duration;
    use api::timestamp::Timestamp;
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

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
}

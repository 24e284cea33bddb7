//! `subscriptions list|create|get|delete`.

use api::types::{
    CreateSubscriptionRequest, ListSubscriptionsResponse, StartPosition, Subscription,
    SubscriptionStats,
};

use super::{Context, all_pages};
use crate::args::{CreateSubscriptionArgs, Format, ListArgs, NameArg, SubscriptionsCommand};
use crate::output::{TextTable, fields, print_json, print_text};

pub async fn run(ctx: &Context, command: SubscriptionsCommand) -> anyhow::Result<()> {
    match command {
        SubscriptionsCommand::List(args) => list(ctx, args).await,
        SubscriptionsCommand::Create(args) => create(ctx, args).await,
        SubscriptionsCommand::Get(NameArg { name }) => get(ctx, &name).await,
        SubscriptionsCommand::Delete(NameArg { name }) => delete(ctx, &name).await,
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
    let request = CreateSubscriptionRequest {
        topic: args.topic,
        kind: None,
        ack_deadline_seconds: args.ack_deadline,
        enable_message_ordering: args.ordering.then_some(true),
        start_position: args.start.map(Into::into),
        ..Default::default()
    };
    let subscription = ctx.client.create_subscription(&args.name, &request).await?;
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
        ("created", s.create_time.clone()),
    ];
    let Some(stats) = &s.stats else {
        return fields(&rows);
    };
    rows.push(("backlog", stats.backlog_messages.to_string()));
    rows.push(("outstanding", stats.outstanding_messages.to_string()));
    format!("{}\n\n{}", fields(&rows), partitions_table(stats))
}

fn partitions_table(stats: &SubscriptionStats) -> String {
    let mut table = TextTable::new(&["partition", "backlog", "outstanding"]);
    for p in &stats.partitions {
        table.row(vec![
            TextTable::number(p.partition),
            TextTable::number(p.backlog_messages),
            TextTable::number(p.outstanding_messages),
        ]);
    }
    table.render()
}

/// The wire name of the type (`shared`), so people and scripts see the same word.
fn kind_text(s: &Subscription) -> String {
    serde_json::to_value(s.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", s.kind))
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
    use api::types::{PartitionBacklog, SubscriptionType};

    use super::*;

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

    #[test]
    fn get_shows_settings_then_backlog_per_partition() {
        let text = subscription_text(&sample());
        assert!(
            text.starts_with(
                "name:          billing\ntopic:         orders\ntype:          shared"
            ),
            "{text}"
        );
        assert!(
            text.contains("backlog:       5\noutstanding:   1"),
            "{text}"
        );
        assert!(
            text.ends_with("PARTITION  BACKLOG  OUTSTANDING\n        0        5            1"),
            "{text}"
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

//! `topics list|create|get|delete|stats`.

use api::types::{
    CreateTopicRequest, DiscardPolicy, ListTopicsResponse, PayloadCompression, RetentionSpec,
    Topic, TopicStats,
};

use super::{Context, all_pages};
use crate::args::{CreateTopicArgs, Format, ListArgs, NameArg, TopicsCommand};
use crate::output::{TextTable, bytes_text, fields, print_json, print_text};

pub async fn run(ctx: &Context, command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::List(args) => list(ctx, args).await,
        TopicsCommand::Create(args) => create(ctx, args).await,
        TopicsCommand::Get(NameArg { name }) => get(ctx, &name).await,
        TopicsCommand::Delete(NameArg { name }) => delete(ctx, &name).await,
        TopicsCommand::Stats(NameArg { name }) => stats(ctx, &name).await,
    }
}

async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let page_size = args.page_size;
    let topics = all_pages(|token| async move {
        let page = ctx.client.list_topics(page_size, token.as_deref()).await?;
        Ok((page.topics, page.next_page_token))
    })
    .await?;
    match ctx.format {
        Format::Json => print_json(&ListTopicsResponse {
            topics,
            next_page_token: None,
        }),
        Format::Table if topics.is_empty() => {
            print_text("no topics");
            Ok(())
        }
        Format::Table => {
            print_text(&topics_table(&topics));
            Ok(())
        }
    }
}

async fn create(ctx: &Context, args: CreateTopicArgs) -> anyhow::Result<()> {
    let retention = RetentionSpec {
        max_age: args.retention,
        max_bytes_per_partition: args.max_bytes_per_partition,
        max_messages_per_partition: args.max_messages_per_partition,
        discard: args.discard.map(Into::into),
    };
    let request = CreateTopicRequest {
        partitions: args.partitions,
        retention: (retention != RetentionSpec::default()).then_some(retention),
        max_message_bytes: args.max_message_bytes,
        dedup_window: args.dedup_window,
        ack_level: args.ack_level,
        compression: args.storage_compression.map(Into::into),
    };
    let topic = ctx.client.create_topic(&args.name, &request).await?;
    match ctx.format {
        Format::Json => print_json(&topic),
        Format::Table => {
            print_text(&format!(
                "created topic {}\n{}",
                topic.name,
                topic_fields(&topic)
            ));
            Ok(())
        }
    }
}

async fn get(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let topic = ctx.client.get_topic(name).await?;
    match ctx.format {
        Format::Json => print_json(&topic),
        Format::Table => {
            print_text(&topic_fields(&topic));
            Ok(())
        }
    }
}

async fn delete(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let answer = ctx.client.delete_topic(name).await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&format!("deleted topic {name}"));
            Ok(())
        }
    }
}

async fn stats(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let topic = ctx.client.get_topic(name).await?;
    let stats = topic
        .stats
        .ok_or_else(|| anyhow::anyhow!("the server sent no statistics for topic {name}"))?;
    match ctx.format {
        Format::Json => print_json(&stats),
        Format::Table => {
            print_text(&stats_text(&stats));
            Ok(())
        }
    }
}

fn topics_table(topics: &[Topic]) -> String {
    let mut table = TextTable::new(&[
        "name",
        "partitions",
        "retention",
        "max message bytes",
        "dedup window",
        "created",
    ]);
    for topic in topics {
        table.row(vec![
            TextTable::text(&topic.name),
            TextTable::number(topic.partitions),
            TextTable::text(retention_text(&topic.retention)),
            TextTable::number(topic.max_message_bytes),
            TextTable::text(topic.dedup_window),
            TextTable::text(&topic.create_time),
        ]);
    }
    table.render()
}

fn topic_fields(topic: &Topic) -> String {
    let mut rows = vec![
        ("name", topic.name.clone()),
        ("partitions", topic.partitions.to_string()),
        ("retention", retention_text(&topic.retention)),
        ("max message bytes", topic.max_message_bytes.to_string()),
        ("dedup window", topic.dedup_window.to_string()),
        ("ack level", topic.ack_level.to_string()),
        (
            "compression",
            match topic.compression {
                PayloadCompression::None => "none",
                PayloadCompression::Snappy => "snappy",
                PayloadCompression::Lz4 => "lz4",
            }
            .to_owned(),
        ),
        ("created", topic.create_time.clone()),
    ];
    if let Some(stats) = &topic.stats {
        rows.push(("messages published", stats.messages_published.to_string()));
        rows.push(("bytes published", bytes_text(stats.bytes_published)));
        rows.push(("subscriptions", stats.subscriptions.len().to_string()));
    }
    fields(&rows)
}

fn retention_text(retention: &RetentionSpec) -> String {
    let sizes: Vec<String> = [
        retention.max_bytes_per_partition.map(bytes_text),
        retention
            .max_messages_per_partition
            .map(|count| format!("{count} messages")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let size = (!sizes.is_empty()).then(|| {
        let discard = match retention.discard.unwrap_or_default() {
            DiscardPolicy::Old => "oldest dropped",
            DiscardPolicy::New => "new refused",
        };
        format!("{} per partition ({discard})", sizes.join(" or "))
    });
    match (retention.max_age.map(|age| age.to_string()), size) {
        (Some(age), Some(size)) => format!("{age} or {size}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => "unbounded".to_owned(),
    }
}

fn stats_text(stats: &TopicStats) -> String {
    let summary = fields(&[
        ("messages published", stats.messages_published.to_string()),
        ("bytes published", bytes_text(stats.bytes_published)),
    ]);
    let mut partitions = TextTable::new(&["partition", "start offset", "end offset", "retained"]);
    for p in &stats.partitions {
        partitions.row(vec![
            TextTable::number(p.partition),
            TextTable::number(p.start_offset),
            TextTable::number(p.end_offset),
            TextTable::number(p.end_offset.saturating_sub(p.start_offset)),
        ]);
    }
    let subscriptions = if stats.subscriptions.is_empty() {
        "no subscriptions".to_owned()
    } else {
        let mut table = TextTable::new(&["subscription", "backlog"]);
        for s in &stats.subscriptions {
            table.row(vec![
                TextTable::text(&s.name),
                TextTable::number(s.backlog_messages),
            ]);
        }
        table.render()
    };
    format!("{summary}\n\n{}\n\n{subscriptions}", partitions.render())
}

#[cfg(test)]
mod tests {
    use api::duration::Duration;
    use api::types::{PartitionStats, SubscriptionBacklog};

    use super::*;

    fn sample() -> Topic {
        Topic {
            name: "orders".to_owned(),
            partitions: 2,
            retention: RetentionSpec {
                max_age: Some(Duration::from_secs(604_800)),
                ..RetentionSpec::default()
            },
            max_message_bytes: 1_048_576,
            dedup_window: Duration::from_secs(600),
            ack_level: api::types::AckLevel::Leader,
            compression: api::types::PayloadCompression::None,
            create_time: "2026-11-25T17:42:02.123Z".to_owned(),
            stats: Some(TopicStats {
                messages_published: 3,
                bytes_published: 2048,
                partitions: vec![
                    PartitionStats {
                        partition: 0,
                        start_offset: 0,
                        end_offset: 2,
                    },
                    PartitionStats {
                        partition: 1,
                        start_offset: 1,
                        end_offset: 1,
                    },
                ],
                subscriptions: vec![SubscriptionBacklog {
                    name: "billing".to_owned(),
                    backlog_messages: 2,
                }],
            }),
        }
    }

    #[test]
    fn list_table_has_a_header_and_a_row_per_topic() {
        let text = topics_table(&[sample()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("NAME    PARTITIONS  RETENTION"),
            "{text}"
        );
        assert!(lines[1].starts_with("orders"), "{text}");
        assert!(
            lines[1].contains("604800s") && lines[1].contains("600s"),
            "{text}"
        );
    }

    #[test]
    fn stats_show_offsets_and_backlogs() {
        let text = stats_text(&sample().stats.expect("sample has stats"));
        assert!(
            text.starts_with("messages published:  3\nbytes published:     2.0 KiB"),
            "{text}"
        );
        assert!(
            text.contains("PARTITION  START OFFSET  END OFFSET  RETAINED"),
            "{text}"
        );
        assert!(
            text.contains("SUBSCRIPTION  BACKLOG\nbilling             2"),
            "{text}"
        );
    }

    #[test]
    fn json_keeps_the_server_field_names() {
        let json = serde_json::to_value(sample()).expect("serializes");
        assert_eq!(json["maxMessageBytes"], 1_048_576);
        assert_eq!(json["retention"]["maxAge"], "604800s");
        assert_eq!(json["stats"]["partitions"][1]["startOffset"], 1);
    }

    #[test]
    fn retention_names_both_bounds() {
        let both = RetentionSpec {
            max_age: Some(Duration::from_secs(60)),
            max_bytes_per_partition: Some(1024),
            ..RetentionSpec::default()
        };
        assert_eq!(
            retention_text(&both),
            "60s or 1.0 KiB per partition (oldest dropped)"
        );
        let refusing = RetentionSpec {
            max_messages_per_partition: Some(1000),
            discard: Some(DiscardPolicy::New),
            ..RetentionSpec::default()
        };
        assert_eq!(
            retention_text(&refusing),
            "1000 messages per partition (new refused)"
        );
        assert_eq!(retention_text(&RetentionSpec::default()), "unbounded");
    }
}

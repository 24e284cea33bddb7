//! `dlq list SUB` and `dlq redrive SUB`: a subscription's dead-lettered messages.
//!
//! Dead letters belong to the subscription that gave up on them (their copies in the
//! dead-letter topic are for other readers), so both verbs name the subscription.

use api::types::{DeadLetter, RedriveRequest};

use super::Context;
use crate::args::{DlqCommand, DlqListArgs, Format, RedriveArgs};
use crate::output::{TextTable, data_text, one_line, print_json, print_text};

pub async fn run(ctx: &Context, command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List(args) => list(ctx, args).await,
        DlqCommand::Redrive(args) => redrive(ctx, args).await,
    }
}

async fn list(ctx: &Context, args: DlqListArgs) -> anyhow::Result<()> {
    let answer = ctx
        .client
        .dead_letters(&args.subscription, args.max)
        .await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table if answer.dead_letters.is_empty() => {
            print_text(&format!("no dead letters in {}", args.subscription));
            Ok(())
        }
        Format::Table => {
            print_text(&dead_letters_table(&answer.dead_letters));
            Ok(())
        }
    }
}

async fn redrive(ctx: &Context, args: RedriveArgs) -> anyhow::Result<()> {
    let subscription = args.subscription.clone();
    let answer = ctx
        .client
        .redrive(&subscription, &redrive_request(args))
        .await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&redriven_text(&subscription, answer.redriven));
            Ok(())
        }
    }
}

fn redrive_request(args: RedriveArgs) -> RedriveRequest {
    RedriveRequest {
        max_messages: args.max,
        min_attempts: args.min_attempts,
        published_after: args.published_after.map(|t| t.to_string()),
        published_before: args.published_before.map(|t| t.to_string()),
        rate_per_second: args.rate,
    }
}

fn redriven_text(subscription: &str, redriven: u64) -> String {
    match redriven {
        0 => "redrove 0 messages: no dead letter matched".to_owned(),
        1 => format!("redrove 1 message: {subscription} delivers it again from attempt 1"),
        n => format!("redrove {n} messages: {subscription} delivers them again from attempt 1"),
    }
}

fn dead_letters_table(letters: &[DeadLetter]) -> String {
    let mut table = TextTable::new(&["message id", "attempts", "reason", "dead-lettered", "data"]);
    for letter in letters {
        table.row(vec![
            TextTable::text(&letter.message.message_id),
            TextTable::number(letter.delivery_attempts),
            TextTable::text(one_line(letter.reason.as_deref().unwrap_or("-"))),
            TextTable::text(&letter.dead_letter_time),
            TextTable::text(one_line(&data_text(&letter.message.data))),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use api::data::Data;
    use api::types::Message;
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn letter(reason: Option<&str>) -> DeadLetter {
        DeadLetter {
            message: Message {
                message_id: "0-3".to_owned(),
                data: Data::from("poison\npill"),
                attributes: Default::default(),
                ordering_key: None,
                priority: 4,
                publish_time: "2026-11-25T17:42:00.000Z".to_owned(),
                deliver_time: None,
                expire_time: None,
                partition: 0,
                offset: 3,
            },
            delivery_attempts: 5,
            reason: reason.map(str::to_owned),
            dead_letter_time: "2026-11-25T17:42:02.123Z".to_owned(),
        }
    }

    #[test]
    fn list_shows_attempts_reason_time_and_data_on_one_line() {
        let text = dead_letters_table(&[letter(Some("boom")), letter(None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            "MESSAGE ID  ATTEMPTS  REASON  DEAD-LETTERED             DATA"
        );
        assert_eq!(
            lines[1],
            "0-3                5  boom    2026-11-25T17:42:02.123Z  poison\\npill"
        );
        assert!(lines[2].contains("5  -  "), "{text}");
    }

    #[test]
    fn redrive_sends_only_the_given_filters_with_times_in_utc() {
        let cli = Cli::try_parse_from([
            "pubsub-cli",
            "dlq",
            "redrive",
            "billing",
            "--max",
            "10",
            "--min-attempts",
            "5",
            "--published-after",
            "2026-11-25T19:42:02+02:00",
            "--rate",
            "50",
        ])
        .expect("parses");
        let Command::Dlq(DlqCommand::Redrive(args)) = cli.command else {
            panic!("expected dlq redrive, got {:?}", cli.command);
        };
        assert_eq!(
            serde_json::to_value(redrive_request(args)).expect("serializes"),
            serde_json::json!({
                "maxMessages": 10,
                "minAttempts": 5,
                "publishedAfter": "2026-11-25T17:42:02.000Z",
                "ratePerSecond": 50,
            })
        );
    }

    #[test]
    fn redrive_says_how_many() {
        assert_eq!(
            redriven_text("billing", 1),
            "redrove 1 message: billing delivers it again from attempt 1"
        );
        assert!(redriven_text("billing", 3).starts_with("redrove 3 messages"));
        assert!(redriven_text("billing", 0).starts_with("redrove 0 messages"));
    }
}

//! `pull SUB`, `ack SUB ACK_ID...` and `nack SUB ACK_ID...`: delivery over plain HTTP.

use api::types::{NackRequest, PullRequest};

use super::Context;
use crate::args::{AckIdsArgs, Format, NackArgs, PullArgs};
use crate::output::{print_json, print_text, received_messages_table};

pub async fn pull(ctx: &Context, args: PullArgs) -> anyhow::Result<()> {
    let request = PullRequest {
        max_messages: args.max,
        wait_seconds: args.wait,
        member_id: args.member_id,
    };
    let client = ctx.long_poll_client(args.wait.unwrap_or(0))?;
    let response = client.pull(&args.subscription, &request).await?;
    let ack_ids: Vec<String> = response
        .received_messages
        .iter()
        .map(|m| m.ack_id.clone())
        .collect();
    match ctx.format {
        Format::Json => print_json(&response)?,
        Format::Table if response.received_messages.is_empty() => print_text("no messages"),
        Format::Table => print_text(&received_messages_table(
            &response.received_messages,
            !args.ack,
        )),
    }
    if args.ack && !ack_ids.is_empty() {
        let count = ack_ids.len();
        client.acknowledge(&args.subscription, ack_ids).await?;
        if ctx.format == Format::Table {
            print_text(&format!("acknowledged {count} {}", messages_noun(count)));
        }
    }
    Ok(())
}

pub async fn ack(ctx: &Context, args: AckIdsArgs) -> anyhow::Result<()> {
    let count = args.ack_ids.len();
    let answer = ctx
        .client
        .acknowledge(&args.subscription, args.ack_ids)
        .await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&format!("acknowledged {count} {}", messages_noun(count)));
            Ok(())
        }
    }
}

pub async fn nack(ctx: &Context, args: NackArgs) -> anyhow::Result<()> {
    let count = args.messages.ack_ids.len();
    let request = nack_request(args.messages.ack_ids, args.delay, args.reason);
    let answer = ctx
        .client
        .nack_with(&args.messages.subscription, &request)
        .await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&nacked_text(count, args.delay));
            Ok(())
        }
    }
}

fn nack_request(ack_ids: Vec<String>, delay: Option<u32>, reason: Option<String>) -> NackRequest {
    NackRequest {
        ack_ids,
        delay_seconds: delay,
        reason,
    }
}

fn nacked_text(count: usize, delay: Option<u32>) -> String {
    let when = match delay {
        Some(seconds) => format!("in {seconds}s"),
        None => "after the subscription's backoff".to_owned(),
    };
    format!(
        "nacked {count} {}: delivered again {when}, or dead-lettered after the last attempt",
        messages_noun(count)
    )
}

fn messages_noun(count: usize) -> &'static str {
    if count == 1 { "message" } else { "messages" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nack_sends_delay_and_reason_only_when_given() {
        let plain = nack_request(vec!["a".to_owned()], None, None);
        assert_eq!(
            serde_json::to_value(&plain).expect("serializes"),
            serde_json::json!({"ackIds": ["a"]})
        );
        let full = nack_request(vec!["a".to_owned()], Some(30), Some("boom".to_owned()));
        assert_eq!(
            serde_json::to_value(&full).expect("serializes"),
            serde_json::json!({"ackIds": ["a"], "delaySeconds": 30, "reason": "boom"})
        );
    }

    #[test]
    fn nack_says_when_the_messages_come_back() {
        assert!(nacked_text(1, None).starts_with("nacked 1 message: delivered again after"));
        assert!(nacked_text(2, Some(30)).starts_with("nacked 2 messages: delivered again in 30s"));
    }
}

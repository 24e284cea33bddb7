//! `pull SUB`, `ack SUB ACK_ID...` and `nack SUB ACK_ID...`: delivery over plain HTTP.

use std::time::Duration;

use api::types::PullRequest;

use super::Context;
use crate::args::{AckIdsArgs, Format, PullArgs};
use crate::output::{print_json, print_text, received_messages_table};

/// Time allowed for the answer beyond the pull's own long-poll wait.
const PULL_ANSWER_MARGIN: Duration = Duration::from_secs(5);

pub async fn pull(ctx: &Context, args: PullArgs) -> anyhow::Result<()> {
    let request = PullRequest {
        max_messages: args.max,
        wait_seconds: args.wait,
    };
    // A long poll may legitimately outlast --timeout; give it its wait plus a margin.
    let wait = Duration::from_secs(u64::from(args.wait.unwrap_or(0)));
    let client = if wait + PULL_ANSWER_MARGIN > ctx.timeout {
        api::Client::new(ctx.client.base_url(), wait + PULL_ANSWER_MARGIN)?
    } else {
        ctx.client.clone()
    };
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

pub async fn nack(ctx: &Context, args: AckIdsArgs) -> anyhow::Result<()> {
    let count = args.ack_ids.len();
    let answer = ctx.client.nack(&args.subscription, args.ack_ids).await?;
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            print_text(&format!(
                "nacked {count} {}: they will be delivered again",
                messages_noun(count)
            ));
            Ok(())
        }
    }
}

fn messages_noun(count: usize) -> &'static str {
    if count == 1 { "message" } else { "messages" }
}

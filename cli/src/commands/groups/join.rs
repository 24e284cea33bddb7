//! `groups join SUB`: one member of a consumer group, for as long as the command runs.
//!
//! Flow: listen for Ctrl-C, join (the answer carries the member id, the first
//! assignment and the heartbeat interval), then run two loops side by side on the
//! one runtime thread until Ctrl-C, `--max-messages` or a failure:
//! - [`keep_alive`] heartbeats every interval and reports each new generation or
//!   assignment;
//! - [`receive`] long-polls with the member id, prints each message with the
//!   generation it was delivered under, and acks it unless `--no-ack`.
//!
//! Then the member leaves, so its partitions go to the others at once rather than
//! after its session timeout. `UNKNOWN_MEMBER` from either loop means the broker no
//! longer has the member (its session expired): there is nothing to leave, and the
//! command fails.
//!
//! Membership news goes to stderr, so stdout carries only messages in either format.

use std::io;
use std::time::Duration;

use anyhow::Context as _;
use api::limits::DEFAULT_PULL_MESSAGES;
use api::types::{HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, PullRequest};
use api::{ClientError, ErrorCode};
use futures::FutureExt as _;
use tokio::time::{Instant, MissedTickBehavior};

use crate::args::{Format, JoinGroupArgs};
use crate::commands::Context;
use crate::output::{message_line, print_text};

/// How long each pull waits for a first message. Ctrl-C and a lost session end the
/// wait early, so this only sets how often an idle member asks again.
const PULL_WAIT_SECONDS: u32 = 10;

pub async fn run(ctx: &Context, args: JoinGroupArgs) -> anyhow::Result<()> {
    // Listen before joining, so Ctrl-C at any moment after the member exists leads to
    // a leave rather than a killed process. tokio installs the handler at the first poll.
    let mut interrupted = Box::pin(tokio::signal::ctrl_c());
    if let Some(signal) = (&mut interrupted).now_or_never() {
        signal.context("listening for Ctrl-C")?;
        return Ok(());
    }
    let request = JoinGroupRequest {
        session_timeout_seconds: args.session_timeout,
    };
    let joined = ctx.client.join_group(&args.subscription, &request).await?;
    eprintln!("{}", joined_text(&args.subscription, &joined));

    let outcome = tokio::select! {
        error = keep_alive(ctx, &args.subscription, &joined) => Err(error),
        received = receive(ctx, &args, &joined.member_id, &mut interrupted) => received,
    };
    let received = match outcome {
        Err(error) if is_unknown_member(&error) => {
            return Err(error.context(format!(
                "the session of member {} in group {} expired",
                joined.member_id, args.subscription
            )));
        }
        outcome => outcome,
    };
    let left = leave(ctx, &args.subscription, &joined.member_id).await;
    match (received, left) {
        (Ok(received), Ok(())) => {
            eprintln!(
                "left group {} after {received} {}",
                args.subscription,
                if received == 1 { "message" } else { "messages" }
            );
            Ok(())
        }
        (Ok(_), Err(error)) | (Err(error), Ok(())) => Err(error),
        // The failure that ended consuming matters more than the failed leave after it.
        (Err(error), Err(leave_error)) => {
            eprintln!("warning: {leave_error:#}");
            Err(error)
        }
    }
}

/// Heartbeats every interval, reporting each change of generation or assignment,
/// until a heartbeat fails for good; answers why.
async fn keep_alive(
    ctx: &Context,
    subscription: &str,
    joined: &JoinGroupResponse,
) -> anyhow::Error {
    let period = Duration::from_secs(u64::from(joined.heartbeat_interval_seconds.max(1)));
    let mut tick = tokio::time::interval_at(Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut known = HeartbeatResponse {
        generation: joined.generation,
        partitions: joined.partitions.clone(),
    };
    loop {
        tick.tick().await;
        match ctx
            .client
            .heartbeat(subscription, &joined.member_id, known.generation)
            .await
        {
            Ok(answer) if answer == known => {}
            Ok(answer) => {
                eprintln!(
                    "new assignment: {}",
                    assignment_text(answer.generation, &answer.partitions)
                );
                known = answer;
            }
            // The session outlasts three intervals, so one lost beat is no loss yet.
            Err(error) if error.is_retryable() => eprintln!(
                "warning: heartbeat failed, trying again in {}s: {error}",
                period.as_secs()
            ),
            Err(error) => return anyhow::Error::new(error),
        }
    }
}

/// Pulls as the member, prints and acks, until the limit or Ctrl-C; answers how many
/// messages arrived.
async fn receive(
    ctx: &Context,
    args: &JoinGroupArgs,
    member_id: &str,
    interrupted: &mut (impl Future<Output = io::Result<()>> + Unpin),
) -> anyhow::Result<u64> {
    let client = ctx.long_poll_client(PULL_WAIT_SECONDS)?;
    let mut received: u64 = 0;
    while args.max_messages.is_none_or(|max| received < max) {
        let request = PullRequest {
            max_messages: Some(pull_size(args.max_messages, received)),
            wait_seconds: Some(PULL_WAIT_SECONDS),
            member_id: Some(member_id.to_owned()),
        };
        let response = tokio::select! {
            signal = &mut *interrupted => {
                signal.context("listening for Ctrl-C")?;
                break;
            }
            response = client.pull(&args.subscription, &request) => response?,
        };
        let mut ack_ids = Vec::with_capacity(response.received_messages.len());
        for m in response.received_messages {
            match ctx.format {
                // One compact object per line, with its generation, as `subscribe` prints.
                Format::Json => print_text(&serde_json::to_string(&m)?),
                Format::Table => {
                    print_text(&message_line(&m.message, m.delivery_attempt, m.generation))
                }
            }
            ack_ids.push(m.ack_id);
        }
        received += ack_ids.len() as u64;
        if !args.no_ack && !ack_ids.is_empty() {
            client.acknowledge(&args.subscription, ack_ids).await?;
        }
    }
    Ok(received)
}

/// Messages to ask for: never more than will be printed, since extra leases would sit
/// unacked after the member leaves until their deadline passed.
fn pull_size(max_messages: Option<u64>, received: u64) -> u32 {
    let room = max_messages.map_or(u64::MAX, |max| max.saturating_sub(received));
    u32::try_from(room.min(u64::from(DEFAULT_PULL_MESSAGES))).unwrap_or(DEFAULT_PULL_MESSAGES)
}

/// Leaves the group; a member the broker already dropped is out either way.
async fn leave(ctx: &Context, subscription: &str, member_id: &str) -> anyhow::Result<()> {
    match ctx.client.leave_group(subscription, member_id).await {
        Ok(_) => Ok(()),
        Err(error) if problem_code(&error) == Some(ErrorCode::UnknownMember) => Ok(()),
        Err(error) => {
            Err(anyhow::Error::new(error).context(format!("leaving group {subscription}")))
        }
    }
}

fn is_unknown_member(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<ClientError>())
        .and_then(problem_code)
        == Some(ErrorCode::UnknownMember)
}

fn problem_code(error: &ClientError) -> Option<ErrorCode> {
    error.problem().map(|p| p.code)
}

fn joined_text(subscription: &str, joined: &JoinGroupResponse) -> String {
    format!(
        "joined group {subscription} as member {}: {}; heartbeat every {}s",
        joined.member_id,
        assignment_text(joined.generation, &joined.partitions),
        joined.heartbeat_interval_seconds
    )
}

fn assignment_text(generation: u64, partitions: &[u32]) -> String {
    if partitions.is_empty() {
        return format!(
            "generation {generation}, no partitions (standing by: the group has more members \
             than the topic has partitions)"
        );
    }
    let list: Vec<String> = partitions.iter().map(u32::to_string).collect();
    format!("generation {generation}, partitions {}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use api::Problem;

    use super::*;

    #[test]
    fn membership_news_names_member_generation_and_partitions() {
        let joined = JoinGroupResponse {
            member_id: "m-1f-1".to_owned(),
            generation: 1,
            partitions: vec![0, 1, 2, 3],
            heartbeat_interval_seconds: 10,
        };
        assert_eq!(
            joined_text("shards", &joined),
            "joined group shards as member m-1f-1: generation 1, partitions 0, 1, 2, 3; \
             heartbeat every 10s"
        );
        assert!(assignment_text(4, &[]).starts_with("generation 4, no partitions (standing by"));
    }

    #[test]
    fn pulls_never_ask_for_more_than_the_limit_leaves() {
        assert_eq!(pull_size(None, 0), DEFAULT_PULL_MESSAGES);
        assert_eq!(pull_size(None, 5_000), DEFAULT_PULL_MESSAGES);
        assert_eq!(pull_size(Some(4), 0), 4);
        assert_eq!(pull_size(Some(4), 3), 1);
        assert_eq!(pull_size(Some(1_000_000), 0), DEFAULT_PULL_MESSAGES);
    }

    #[test]
    fn only_unknown_member_means_the_session_is_gone() {
        let problem = |code| anyhow::Error::new(ClientError::Api(Problem::new(code, "x")));
        assert!(is_unknown_member(&problem(ErrorCode::UnknownMember)));
        assert!(is_unknown_member(
            &problem(ErrorCode::UnknownMember).context("pulling")
        ));
        assert!(!is_unknown_member(&problem(
            ErrorCode::SubscriptionNotFound
        )));
        assert!(!is_unknown_member(&anyhow::anyhow!("unknown member")));
    }
}

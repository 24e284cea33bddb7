//! `subscribe SUB`: a WebSocket stream that prints (and acks) messages as they come.
//!
//! Flow: check the subscription exists, open the stream, grant `--credit`, then print
//! each message and ack it until `--max-messages` or Ctrl-C, and close the socket with
//! a close handshake so the server releases the stream at once.

use anyhow::Context as _;
use api::frames::ServerFrame;
use api::stream::Subscriber;

use super::Context;
use crate::args::{Format, SubscribeArgs};
use crate::output::{message_line, print_text};

pub async fn run(ctx: &Context, args: SubscribeArgs) -> anyhow::Result<()> {
    // A failed WebSocket upgrade carries no problem body; asking first turns a missing
    // subscription into the server's SUBSCRIPTION_NOT_FOUND.
    ctx.client.get_subscription(&args.subscription).await?;
    let mut stream = ctx.client.stream(&args.subscription).await?;
    let outcome = receive(ctx, &args, &mut stream).await;
    let closed = tokio::time::timeout(ctx.timeout, stream.close())
        .await
        .context("the server did not answer the close handshake")
        .and_then(|closed| closed.map_err(anyhow::Error::from));
    // A receive error matters more than a failed close after it.
    let received = outcome?;
    closed?;
    if ctx.format == Format::Table {
        eprintln!("received {received} messages");
    }
    Ok(())
}

/// Prints messages until the limit or Ctrl-C; answers how many arrived.
async fn receive(
    ctx: &Context,
    args: &SubscribeArgs,
    stream: &mut Subscriber,
) -> anyhow::Result<u64> {
    // Never lease more than will be printed: extra leases would sit unacked after we
    // stop, and be redelivered only when their deadline passes.
    let credit = match args.max_messages {
        Some(max) => args.credit.min(u32::try_from(max).unwrap_or(u32::MAX)),
        None => args.credit,
    };
    stream.credit(credit).await?;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut received: u64 = 0;
    while args.max_messages.is_none_or(|max| received < max) {
        let frame = tokio::select! {
            signal = &mut interrupted => {
                signal.context("listening for Ctrl-C")?;
                break;
            }
            frame = stream.next() => frame,
        };
        let frame = match frame {
            Some(frame) => frame?,
            None => anyhow::bail!("the server closed the stream after {received} messages"),
        };
        match &frame {
            ServerFrame::Message {
                ack_id,
                message,
                delivery_attempt,
                generation,
            } => {
                match ctx.format {
                    // One compact object per line, so a script can read the stream line by line.
                    Format::Json => print_text(&serde_json::to_string(&frame)?),
                    Format::Table => {
                        print_text(&message_line(message, *delivery_attempt, *generation))
                    }
                }
                if !args.no_ack {
                    stream.ack(vec![ack_id.clone()]).await?;
                }
                received += 1;
            }
            // The stream stays open after a rejected frame; say so and go on.
            ServerFrame::Error { problem } => {
                eprintln!(
                    "warning: the server rejected a frame: {} ({})",
                    problem.detail, problem.code
                );
            }
        }
    }
    Ok(received)
}

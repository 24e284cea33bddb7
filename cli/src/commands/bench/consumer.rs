//! One consumer: receives from the shared subscription, records each message's stamp
//! in the tally and acknowledges it, until the run is cancelled.
//!
//! - pull: a long-polling `:pull` of up to `--window` messages; the ack of one batch
//!   travels together with the pull of the next, so acks cost no extra round trip.
//! - stream: a WebSocket with credit `--window` (JSON or binary deliveries); the
//!   messages already arrived are drained and acknowledged in one ack frame.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use api::frames::ServerFrame;
use api::types::{PullRequest, ReceivedMessage};
use bench::{Latency, Stamp, payload};
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use super::tally::Tally;
use crate::args::Transport;

/// Long-poll wait of each pull: bounds how long a consumer takes to notice the end.
pub const PULL_WAIT_SECONDS: u32 = 1;
/// Longest wait for the server's answer to a stream's close frame.
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Consumer {
    pub client: api::Client,
    pub subscription: Arc<str>,
    pub transport: Transport,
    pub encoding: api::stream::Encoding,
    pub window: u32,
}

impl Consumer {
    /// Consumes until `done` is cancelled; answers the end-to-end latencies it saw.
    pub async fn run(self, tally: Arc<Tally>, done: CancellationToken) -> anyhow::Result<Latency> {
        match self.transport {
            Transport::Pull => self.pull(&tally, &done).await,
            Transport::Stream => self.stream(&tally, &done).await,
        }
    }

    async fn pull(&self, tally: &Tally, done: &CancellationToken) -> anyhow::Result<Latency> {
        let mut latency = Latency::new();
        let request = PullRequest {
            max_messages: Some(self.window.min(api::limits::MAX_PULL_MESSAGES)),
            wait_seconds: Some(PULL_WAIT_SECONDS),
            member_id: None,
        };
        let mut to_ack: Vec<String> = Vec::new();
        loop {
            let acked = std::mem::take(&mut to_ack);
            let ack = async {
                if acked.is_empty() {
                    return Ok(());
                }
                self.client
                    .acknowledge(&self.subscription, acked)
                    .await
                    .map(drop)
            };
            let pull = self.client.pull(&self.subscription, &request);
            let (acked, pulled) = tokio::select! {
                () = done.cancelled() => break,
                answers = async { tokio::join!(ack, pull) } => answers,
            };
            acked.context("acknowledging")?;
            let pulled = pulled.context("pulling")?;
            to_ack = record(tally, &mut latency, pulled.received_messages)?;
        }
        Ok(latency)
    }

    async fn stream(&self, tally: &Tally, done: &CancellationToken) -> anyhow::Result<Latency> {
        let mut latency = Latency::new();
        let mut stream = self
            .client
            .stream_with(&self.subscription, self.encoding)
            .await?;
        stream
            .credit(self.window.min(api::limits::MAX_STREAM_CREDIT))
            .await?;
        loop {
            let first = tokio::select! {
                () = done.cancelled() => break,
                frame = stream.next() => frame,
            };
            let mut frames = vec![first];
            // Take what has already arrived without waiting, then ack it all at once.
            while frames.len() < self.window as usize {
                match stream.next().now_or_never() {
                    Some(frame) => frames.push(frame),
                    None => break,
                }
            }
            let mut received = Vec::with_capacity(frames.len());
            for frame in frames {
                match frame.context("the server closed the stream")?? {
                    ServerFrame::Message {
                        ack_id,
                        message,
                        delivery_attempt,
                        generation,
                    } => received.push(ReceivedMessage {
                        ack_id,
                        message,
                        delivery_attempt,
                        generation,
                    }),
                    ServerFrame::Error { problem } => {
                        anyhow::bail!("the server rejected a frame: {}", problem.detail)
                    }
                }
            }
            let ack_ids = record(tally, &mut latency, received)?;
            stream.ack(ack_ids).await?;
        }
        // The run is measured already; a server slow to close only delays the report.
        tokio::time::timeout(CLOSE_LIMIT, stream.close())
            .await
            .context("the server did not answer the close handshake")??;
        Ok(latency)
    }
}

/// Decodes each message's stamp into the tally; answers the ack ids.
fn record(
    tally: &Tally,
    latency: &mut Latency,
    received: Vec<ReceivedMessage>,
) -> anyhow::Result<Vec<String>> {
    let mut stamps: Vec<Stamp> = Vec::with_capacity(received.len());
    let mut ack_ids = Vec::with_capacity(received.len());
    for message in received {
        let stamp = payload::decode(&message.message.data.0).with_context(|| {
            format!(
                "message {} is not from this bench (is the subscription shared with other traffic?)",
                message.message.message_id
            )
        })?;
        stamps.push(stamp);
        ack_ids.push(message.ack_id);
    }
    tally.record(&stamps, latency);
    Ok(ack_ids)
}

//! One producer: keeps `--window` publish requests of `--batch` stamped messages in
//! flight until its quota is sent or the deadline passes, over HTTP (concurrent
//! requests) or over its own `:publishStream` (pipelined frames, answers in order).
//!
//! Sequence numbers are given out in order and every request must succeed, so when a
//! producer finishes, its acknowledged messages are exactly sequences `0..n`, which is
//! what the ledger checks. A failed publish ends the run with its error.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use api::PublishOptions;
use api::data::Data;
use api::types::{PublishMessage, PublishRequest};
use bench::{Latency, Stamp, payload};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::tally::Tally;

/// What one producer does.
#[derive(Debug, Clone)]
pub struct Producer {
    pub id: u32,
    pub client: api::Client,
    pub topic: Arc<str>,
    pub options: PublishOptions,
    /// `Some` to publish over a `:publishStream` with these frames.
    pub stream: Option<api::stream::Encoding>,
    pub window: u32,
    pub batch: u32,
    /// Messages to send, or `None` to send until `deadline`.
    pub quota: Option<u64>,
    pub deadline: Option<Instant>,
    pub filler: Arc<[u8]>,
}

/// What a producer did.
#[derive(Debug)]
pub struct Produced {
    pub acknowledged: u64,
    pub latency: Latency,
    /// From the run's epoch to this producer's last acknowledgement.
    pub last_ack: Duration,
}

impl Producer {
    pub async fn run(self, tally: Arc<Tally>) -> anyhow::Result<Produced> {
        match self.stream {
            Some(encoding) => self.run_stream(&tally, encoding).await,
            None => self.run_http(&tally).await,
        }
    }

    async fn run_http(&self, tally: &Tally) -> anyhow::Result<Produced> {
        let mut in_flight = FuturesUnordered::new();
        let mut next_sequence: u64 = 0;
        let mut produced = Produced::new();
        loop {
            while in_flight.len() < self.window as usize {
                let count = self.next_batch_size(next_sequence);
                if count == 0 {
                    break;
                }
                in_flight.push(self.publish(tally, next_sequence, count));
                next_sequence += count;
            }
            let Some((started, count, answer)) = in_flight.next().await else {
                break;
            };
            answer.with_context(|| self.failed(&produced))?;
            produced.record(tally, started, count);
        }
        Ok(produced)
    }

    async fn run_stream(
        &self,
        tally: &Tally,
        encoding: api::stream::Encoding,
    ) -> anyhow::Result<Produced> {
        let mut publisher = self.client.publisher(&self.topic, encoding).await?;
        // Answers come in the order sent: (sent at, messages) of each in flight.
        let mut in_flight: VecDeque<(Instant, u64)> = VecDeque::new();
        let mut next_sequence: u64 = 0;
        let mut produced = Produced::new();
        loop {
            while in_flight.len() < self.window as usize {
                let count = self.next_batch_size(next_sequence);
                if count == 0 {
                    break;
                }
                let request = self.request(tally, next_sequence, count);
                publisher.send(request, None).await?;
                in_flight.push_back((Instant::now(), count));
                next_sequence += count;
            }
            let Some((started, count)) = in_flight.pop_front() else {
                break;
            };
            let (_, outcome) = publisher
                .next_answer()
                .await
                .context("the server closed the publish stream")??;
            outcome
                .map_err(api::ClientError::Api)
                .with_context(|| self.failed(&produced))?;
            produced.record(tally, started, count);
        }
        publisher.close().await?;
        Ok(produced)
    }

    fn failed(&self, produced: &Produced) -> String {
        format!(
            "producer {} failed to publish; {} of its messages had been acknowledged",
            self.id, produced.acknowledged
        )
    }

    /// How many messages the next request carries; 0 when the producer is done.
    fn next_batch_size(&self, next_sequence: u64) -> u64 {
        let batch = u64::from(self.batch);
        match (self.quota, self.deadline) {
            (Some(quota), _) => batch.min(quota.saturating_sub(next_sequence)),
            (None, Some(deadline)) if Instant::now() < deadline => batch,
            (None, _) => 0,
        }
    }

    /// One publish request of `count` messages from sequence `first`.
    fn publish(
        &self,
        tally: &Tally,
        first: u64,
        count: u64,
    ) -> impl Future<Output = (Instant, u64, Result<(), api::ClientError>)> + use<> {
        let request = self.request(tally, first, count);
        let client = self.client.clone();
        let topic = self.topic.clone();
        let options = self.options.clone();
        async move {
            let started = Instant::now();
            let answer = client.publish(&topic, &request, &options).await;
            (started, count, answer.map(drop))
        }
    }

    /// `count` stamped messages from sequence `first`.
    fn request(&self, tally: &Tally, first: u64, count: u64) -> PublishRequest {
        let sent_at_nanos = tally.now_nanos();
        let messages = (first..first + count)
            .map(|sequence| {
                let stamp = Stamp {
                    producer: self.id,
                    sequence,
                    sent_at_nanos,
                };
                PublishMessage {
                    data: Data::from(payload::encode(stamp, &self.filler)),
                    ..PublishMessage::default()
                }
            })
            .collect();
        PublishRequest { messages }
    }
}

impl Produced {
    fn new() -> Self {
        Self {
            acknowledged: 0,
            latency: Latency::new(),
            last_ack: Duration::ZERO,
        }
    }

    fn record(&mut self, tally: &Tally, started: Instant, count: u64) {
        self.latency.record_n(started.elapsed(), count);
        self.acknowledged += count;
        self.last_ack = tally.epoch.elapsed();
        tally.published.fetch_add(count, Ordering::Relaxed);
    }
}

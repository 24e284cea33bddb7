//! The load every peer gets, the same as `pubsub-cli bench`: producers keep `window`
//! publishes in flight, each waiting for the broker's acknowledgement; consumers share
//! one queue; every arrival is checked off in a [`bench::Ledger`].
//!
//! A peer plugs in with [`Peer`]: how to make a producer and a consumer, and how to
//! remove what it created. The run ends when every acknowledged message arrived, or
//! when nothing new came for [`DRAIN_IDLE`] after the producers finished.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bench::ledger::Arrival;
use bench::{Latency, Ledger, Report, Stamp, Throughput, Workload, payload};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// After the producers finish, how long without a new arrival before the missing
/// messages count as lost (as in `pubsub-cli bench`).
const DRAIN_IDLE: Duration = Duration::from_secs(10);

/// One publishing connection.
pub trait Producer: Send + Sync + 'static {
    /// Publishes one message; resolves when the broker acknowledged it.
    fn publish(&self, payload: Vec<u8>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// One consuming connection.
pub trait Consumer: Send + 'static {
    /// Waits a short while (about a second at most) for messages, acknowledges them
    /// and answers their payloads; empty when none came.
    fn receive(&mut self) -> impl Future<Output = anyhow::Result<Vec<Vec<u8>>>> + Send;
}

/// A broker under test.
pub trait Peer: Send + Sync + 'static {
    type Producer: Producer;
    type Consumer: Consumer;
    fn producer(&self) -> impl Future<Output = anyhow::Result<Self::Producer>> + Send;
    fn consumer(&self) -> impl Future<Output = anyhow::Result<Self::Consumer>> + Send;
    /// Removes the queue or stream the run created.
    fn remove(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// What the run does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub producers: u32,
    pub consumers: u32,
    pub messages: u64,
    pub size: usize,
    pub window: u32,
}

/// What producers and consumers share.
#[derive(Debug)]
struct Tally {
    epoch: Instant,
    ledger: Mutex<Ledger>,
    last_arrival: AtomicU64,
    arrivals: Notify,
}

impl Tally {
    fn nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Runs the plan against `peer` and removes what it made, even on failure.
pub async fn run<P: Peer>(peer: Arc<P>, plan: Plan, workload: Workload) -> anyhow::Result<Report> {
    let measured = measure(peer.clone(), plan).await;
    let removed = peer.remove().await;
    let mut report = measured?;
    removed.context("removing the queue")?;
    report.workload = workload;
    Ok(report)
}

async fn measure<P: Peer>(peer: Arc<P>, plan: Plan) -> anyhow::Result<Report> {
    let tally = Arc::new(Tally {
        epoch: Instant::now(),
        ledger: Mutex::new(Ledger::new()),
        last_arrival: AtomicU64::new(0),
        arrivals: Notify::new(),
    });
    let done = CancellationToken::new();
    let mut consumers = JoinSet::new();
    for _ in 0..plan.consumers {
        let consumer = peer.consumer().await?;
        consumers.spawn(consume(consumer, tally.clone(), done.clone()));
    }
    let mut producer_handles = Vec::new();
    for _ in 0..plan.producers {
        producer_handles.push(peer.producer().await?);
    }
    let filler: Arc<[u8]> = payload::filler(plan.size).into();
    let mut producers = JoinSet::new();
    for (id, producer) in (0u32..).zip(producer_handles) {
        let quota = plan.messages / u64::from(plan.producers)
            + u64::from(u64::from(id) < plan.messages % u64::from(plan.producers));
        let (tally, filler) = (tally.clone(), filler.clone());
        producers.spawn(async move {
            let produced = produce(&producer, id, quota, plan.window, &filler, &tally).await;
            (id, produced)
        });
    }
    let mut acknowledged = vec![0; plan.producers as usize];
    let mut publish_latency = Latency::new();
    let mut last_ack = Duration::ZERO;
    while let Some(joined) = producers.join_next().await {
        let (id, produced) = joined.context("a producer task panicked")?;
        let (count, latency, last) = match produced {
            Ok(produced) => produced,
            Err(error) => {
                done.cancel();
                return Err(error.context(format!("producer {id}")));
            }
        };
        acknowledged[id as usize] = count;
        publish_latency.merge(&latency);
        last_ack = last_ack.max(last);
    }
    let expected: u64 = acknowledged.iter().sum();
    while tally.ledger().unique() < expected {
        if tokio::time::timeout(DRAIN_IDLE, tally.arrivals.notified())
            .await
            .is_err()
        {
            break;
        }
    }
    done.cancel();
    let mut end_to_end_latency = Latency::new();
    while let Some(joined) = consumers.join_next().await {
        end_to_end_latency.merge(&joined.context("a consumer task panicked")??);
    }
    let verification = tally.ledger().verify(&acknowledged);
    let last_arrival = Duration::from_nanos(tally.last_arrival.load(Ordering::Relaxed));
    Ok(Report {
        system: String::new(),
        version: String::new(),
        workload: Workload::default(),
        publish: Throughput::new(expected, plan.size, last_ack),
        end_to_end: Throughput::new(verification.received, plan.size, last_arrival),
        publish_latency: publish_latency.summary(),
        end_to_end_latency: end_to_end_latency.summary(),
        verification,
    })
}

/// Publishes `quota` messages with `window` in flight; answers how many were
/// acknowledged, their latencies and when the last acknowledgement came.
async fn produce<P: Producer>(
    producer: &P,
    id: u32,
    quota: u64,
    window: u32,
    filler: &[u8],
    tally: &Tally,
) -> anyhow::Result<(u64, Latency, Duration)> {
    let mut latency = Latency::new();
    let mut in_flight = FuturesUnordered::new();
    let mut next: u64 = 0;
    let mut acknowledged = 0;
    let mut last_ack = Duration::ZERO;
    loop {
        while in_flight.len() < window as usize && next < quota {
            let stamp = Stamp {
                producer: id,
                sequence: next,
                sent_at_nanos: tally.nanos(),
            };
            let bytes = payload::encode(stamp, filler);
            in_flight.push(async move {
                let started = Instant::now();
                producer.publish(bytes).await.map(|()| started.elapsed())
            });
            next += 1;
        }
        let Some(answer) = in_flight.next().await else {
            break;
        };
        latency.record(
            answer.with_context(|| format!("publish failed after {acknowledged} acknowledged"))?,
        );
        acknowledged += 1;
        last_ack = tally.epoch.elapsed();
    }
    Ok((acknowledged, latency, last_ack))
}

/// Receives until `done`; answers the end-to-end latencies of first arrivals.
async fn consume<C: Consumer>(
    mut consumer: C,
    tally: Arc<Tally>,
    done: CancellationToken,
) -> anyhow::Result<Latency> {
    let mut latency = Latency::new();
    loop {
        let payloads = tokio::select! {
            () = done.cancelled() => break,
            received = consumer.receive() => received?,
        };
        if payloads.is_empty() {
            continue;
        }
        let now = tally.nanos();
        {
            let mut ledger = tally.ledger();
            for bytes in &payloads {
                let stamp = payload::decode(bytes)?;
                if ledger.record(stamp) == Arrival::First {
                    latency.record(Duration::from_nanos(
                        now.saturating_sub(stamp.sent_at_nanos),
                    ));
                }
            }
        }
        tally.last_arrival.fetch_max(now, Ordering::Relaxed);
        tally.arrivals.notify_one();
    }
    Ok(latency)
}

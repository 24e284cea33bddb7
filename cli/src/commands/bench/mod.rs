//! `bench`: producers publish stamped messages to a topic while consumers receive them
//! from a shared subscription; every arrival is checked off in a ledger.
//!
//! Flow: [`target`] makes a topic and subscription (unless named) → the configuration
//! is printed → consumers start, then producers ([`publisher`]) → when the producers
//! are done, the run waits until every acknowledged message arrived, or until no new
//! message came for [`DRAIN_IDLE`] (the rest count as lost) → [`consumer`]s stop → the
//! [`bench::Report`] is printed and the target removed. [`tally`] is what the tasks
//! share; [`progress`] draws the live line.
//!
//! With `--servers`, producers and then consumers take the servers in turn (see
//! [`BenchArgs::server_for`]), each producer with connections of its own and the
//! consumers of one server sharing theirs; the target is made through the first.

mod consumer;
mod progress;
mod publisher;
mod tally;
mod target;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use api::PublishOptions;
use bench::{Latency, Report, Throughput, Workload, payload};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::consumer::Consumer;
use self::publisher::{Produced, Producer};
use self::tally::Tally;
use self::target::Target;
use super::Context;
use crate::args::{BenchArgs, Format, PublishTransport, Transport};
use crate::output::{print_json, print_text};

/// After the producers finish, how long without a new arrival before the missing
/// messages are declared lost.
const DRAIN_IDLE: Duration = Duration::from_secs(10);

pub async fn run(ctx: &Context, args: BenchArgs) -> anyhow::Result<()> {
    if args.compression.is_some() && args.publish_transport == PublishTransport::Stream {
        anyhow::bail!(
            "--compression applies to HTTP publish bodies; :publishStream frames are not compressed"
        );
    }
    let admin = match args.servers.first() {
        Some(first) => ctx.client_at(first, ctx.timeout)?,
        None => ctx.client.clone(),
    };
    let target = Target::prepare(&admin, &args).await?;
    let workload = workload(&args, &target);
    let header = workload.describe("pubsubgo");
    match ctx.format {
        Format::Table => print_text(&header),
        // stdout carries exactly one JSON object.
        Format::Json => eprintln!("{header}"),
    }
    let measured = measure(ctx, &args, &target, admin.base_url()).await;
    let removed = target.remove(&admin).await;
    let mut report = measured?;
    removed.context("removing the bench's topic and subscription")?;
    report.workload = workload;
    match ctx.format {
        Format::Table => print_text(&report.render()),
        Format::Json => print_json(&report)?,
    }
    Ok(())
}

fn workload(args: &BenchArgs, target: &Target) -> Workload {
    let mut setup: std::collections::BTreeMap<String, String> = target.describe().into();
    setup.insert("transport".to_owned(), args.transport.name().to_owned());
    if args.publish_transport == PublishTransport::Stream {
        setup.insert(
            "publish".to_owned(),
            args.publish_transport.name().to_owned(),
        );
    }
    if args.transport == Transport::Stream || args.publish_transport == PublishTransport::Stream {
        setup.insert("encoding".to_owned(), args.encoding.name().to_owned());
    }
    if args.servers.len() > 1 {
        setup.insert("servers".to_owned(), args.servers.len().to_string());
    }
    if args.topic.is_none() {
        setup.insert("partitions".to_owned(), args.partitions.to_string());
    }
    if let Some(compression) = args.compression {
        let codec: api::compression::Compression = compression.into();
        setup.insert("compression".to_owned(), codec.header_value().to_owned());
    }
    Workload {
        producers: args.producers,
        consumers: args.consumers,
        messages: args.message_count(),
        duration_seconds: args.duration,
        size_bytes: args.size as usize,
        window: args.window,
        batch: args.batch,
        setup,
    }
}

/// Runs the load; `server` is where the target was made, the default for every client.
async fn measure(
    ctx: &Context,
    args: &BenchArgs,
    target: &Target,
    server: &str,
) -> anyhow::Result<Report> {
    let tally = Arc::new(Tally::new());
    let done = CancellationToken::new();
    let progress = progress::start(tally.clone(), args.message_count(), done.clone());

    let mut consumers = JoinSet::new();
    let mut consumer_clients: HashMap<&str, api::Client> = HashMap::new();
    for id in 0..args.consumers {
        let url = args.server_for(args.producers + id, server);
        let client = match consumer_clients.get(url) {
            Some(client) => client.clone(),
            None => {
                let client = ctx.long_poll_client_at(url, consumer::PULL_WAIT_SECONDS)?;
                consumer_clients.insert(url, client.clone());
                client
            }
        };
        let consumer = Consumer {
            client,
            subscription: Arc::from(target.subscription.as_str()),
            transport: args.transport,
            encoding: args.encoding.into(),
            window: args.window,
        };
        consumers.spawn(consumer.run(tally.clone(), done.clone()));
    }

    let filler: Arc<[u8]> = payload::filler(args.size as usize).into();
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut producers = JoinSet::new();
    for id in 0..args.producers {
        let producer = Producer {
            id,
            // Each producer gets its own connection pool, like a separate process would.
            client: ctx.client_at(args.server_for(id, server), ctx.timeout)?,
            topic: Arc::from(target.topic.as_str()),
            options: PublishOptions {
                idempotency_key: None,
                compression: args.compression.map(Into::into),
            },
            stream: (args.publish_transport == PublishTransport::Stream)
                .then(|| args.encoding.into()),
            window: args.window,
            batch: args.batch,
            quota: args.message_count().map(|n| share(n, args.producers, id)),
            deadline,
            filler: filler.clone(),
        };
        let tally = tally.clone();
        producers.spawn(async move { (id, producer.run(tally).await) });
    }
    let produced = collect_producers(producers, args.producers).await;
    let produced = match produced {
        Ok(produced) => produced,
        Err(error) => {
            done.cancel();
            return Err(error);
        }
    };
    let acknowledged: Vec<u64> = produced.iter().map(|p| p.acknowledged).collect();
    let expected: u64 = acknowledged.iter().sum();

    // Wait for the stragglers, as long as they keep coming.
    while tally.received() < expected {
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
    if let Some(progress) = progress {
        progress.await.context("the progress task panicked")?;
    }

    let mut publish_latency = Latency::new();
    for p in &produced {
        publish_latency.merge(&p.latency);
    }
    let last_ack = produced
        .iter()
        .map(|p| p.last_ack)
        .max()
        .unwrap_or_default();
    let verification = tally.ledger().verify(&acknowledged);
    let size = args.size as usize;
    Ok(Report {
        system: "pubsubgo".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        workload: Workload::default(),
        publish: Throughput::new(expected, size, last_ack),
        end_to_end: Throughput::new(verification.received, size, tally.last_arrival()),
        publish_latency: publish_latency.summary(),
        end_to_end_latency: end_to_end_latency.summary(),
        verification,
    })
}

/// Waits for every producer; answers their results in producer order.
async fn collect_producers(
    mut producers: JoinSet<(u32, anyhow::Result<Produced>)>,
    count: u32,
) -> anyhow::Result<Vec<Produced>> {
    let mut results: Vec<Option<Produced>> = (0..count).map(|_| None).collect();
    while let Some(joined) = producers.join_next().await {
        let (id, produced) = joined.context("a producer task panicked")?;
        results[id as usize] = Some(produced?);
    }
    Ok(results.into_iter().flatten().collect())
}

/// Producer `id`'s part of `total` messages: equal shares, the first ones take the rest.
fn share(total: u64, producers: u32, id: u32) -> u64 {
    let producers = u64::from(producers);
    total / producers + u64::from(u64::from(id) < total % producers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_total() {
        for (total, producers) in [(200_000, 4), (10, 3), (2, 4), (1, 1)] {
            let shares: Vec<u64> = (0..producers)
                .map(|id| share(total, producers, id))
                .collect();
            assert_eq!(shares.iter().sum::<u64>(), total, "{shares:?}");
            let (min, max) = (shares.iter().min(), shares.iter().max());
            assert!(
                max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                "{shares:?}"
            );
        }
    }
}

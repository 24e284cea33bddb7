//! `BENCHMARKS.md`: the machine, the versions, one table per workload, each row's CPU
//! per message, and the targets of issues 7 and 18, each with its figure, met or
//! missed. A "Microbenchmarks" section at the end of the existing page is kept.
//!
//! Inputs, all written by `run.sh` into one directory: `<workload>__<system>.json`
//! result files ([`Results`]), `machine.txt` and `versions.txt` (lines of text shown as
//! they are), `memory.json` ([`Memory`]) and `cpu/` ([`CpuUses`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bench::Report;
use bench::report::{micros, thousands};

use crate::cpu::CpuUses;
use crate::memory::Memory;
use crate::results::Results;
use crate::targets_table::TargetsTable;
use crate::{Entry, Status};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The directory run.sh wrote the results to.
    #[arg(long)]
    results: PathBuf,
    /// Where to write the page.
    #[arg(long)]
    out: PathBuf,
    /// Shown under the title, e.g. "quick run" when counts were reduced.
    #[arg(long, default_value = "")]
    note: String,
}

/// The workloads of issue 7, in the order shown.
const WORKLOADS: [(&str, &str, &str); 3] = [
    (
        "a",
        "(a) throughput: 4 producers, 4 consumers, window 256, 256 B",
        "Plain `pubsubgo…` rows take the REST path: one message per `POST :publish` and \
         long-polling `:pull`s. `-stream` rows publish over one `:publishStream` WebSocket \
         per producer (up to the window in flight, answers pipelined) and consume over \
         `:stream`, both with binary frames: the fast path, and the like-for-like one \
         with the peers' clients, which also keep one connection with many publishes in \
         flight; the targets use these rows. Every publish carries one message. \
         `-batch100` publishes 100 messages per HTTP request (window 8), for information. \
         `pubsubgo-redis…` is one node on Redis storage (the same Redis server as the \
         `redis-streams` row); `pubsubgo-cluster3-redis…` is three nodes on this machine \
         sharing that Redis, with producers and consumers spread over the three nodes' URLs.",
    ),
    (
        "b",
        "(b) latency: 1 producer, 1 consumer, window 1, 256 B",
        "The producer does not wait for the consumer, and with a window of 1 a consumer \
         needs a receive and an ack per message, so for every system a backlog builds: \
         end-to-end latency here is mostly time spent queued. Publish-ack latency is the \
         round-trip measure. Every system's client runs on one runtime thread here \
         (`TOKIO_WORKER_THREADS=1`), so no client's hop between threads counts as latency.",
    ),
    ("c", "(c) throughput, large messages: as (a) with 4 KiB", ""),
];

/// The rows the targets are measured on: the fast path (see the (a) remark).
const MEMORY_ROW: &str = "pubsubgo-stream";
const REDIS_ROW: &str = "pubsubgo-redis-stream";
const MEMORY_TARGET: &str =
    "memory storage (`pubsubgo-stream`), (a): e2e msgs/s ≥ 1.5× NATS JetStream";

pub fn write(args: &ReportArgs) -> anyhow::Result<()> {
    let results = Results::read(&args.results)?;
    let cpu = CpuUses::read(&args.results);
    let text_file =
        |name: &str| std::fs::read_to_string(args.results.join(name)).unwrap_or_default();
    let memory = Memory::read(&args.results);
    let mut page = String::from("# Benchmarks\n\n");
    if !args.note.is_empty() {
        let _ = writeln!(page, "**{}**\n", args.note);
    }
    page.push_str(
        "Written by `cli/bench/compare/run.sh` from one run on one machine: every system ran the \
         same workloads with clients in Rust on the same machine, one after the other. \
         Clients and brokers share the machine's cores, so these numbers describe this \
         machine, not the brokers' ceilings. MB/s is 10^6 bytes of payload per second. \
         Publish latency is from send to the broker's acknowledgement (one message per \
         request); end-to-end latency is from send to receipt by a consumer. Lost and \
         duplicates are checked per message against the acknowledged publishes.\n\n",
    );
    let _ = writeln!(page, "## Machine\n\n```\n{}```\n", text_file("machine.txt"));
    let _ = writeln!(
        page,
        "## Versions and setup\n\n```\n{}```\n",
        text_file("versions.txt")
    );
    for (key, title, remark) in WORKLOADS {
        let _ = writeln!(page, "## {title}\n");
        if !remark.is_empty() {
            let _ = writeln!(page, "{remark}\n");
        }
        page.push_str(&workload_table(&results, key));
        page.push('\n');
    }
    page.push_str(&cpu.section(&results));
    page.push_str(&targets(&results, memory.as_ref()));
    page.push_str(&crate::issue18::targets(&results, &cpu, memory.as_ref()));
    page.push_str(&kept_microbenchmarks(&args.out));
    std::fs::write(&args.out, page).with_context(|| format!("writing {}", args.out.display()))
}

/// The page's "Microbenchmarks" section (Criterion figures recorded by hand, see
/// `cargo bench`), kept from the page being replaced; it runs to the end of the page.
fn kept_microbenchmarks(out: &Path) -> String {
    const HEADING: &str = "\n## Microbenchmarks\n";
    std::fs::read_to_string(out)
        .ok()
        .and_then(|page| page.find(HEADING).map(|at| page[at..].to_owned()))
        .unwrap_or_default()
}

fn workload_table(results: &Results, workload: &str) -> String {
    let mut table = String::from(
        "| system | messages | e2e msgs/s | e2e MB/s | publish msgs/s | publish p50 | publish p99 \
         | e2e p50 | e2e p99 | lost | duplicates | setup |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for (system, entry) in results.of_workload(workload) {
        match entry {
            Entry::Measured(r) => {
                let setup: Vec<String> = r
                    .workload
                    .setup
                    .iter()
                    .filter(|(k, _)| *k != "topic" && *k != "subscription")
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                let _ = writeln!(
                    table,
                    "| {system} {} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {}, batch {} |",
                    r.version,
                    thousands(r.verification.expected),
                    thousands(r.end_to_end.msgs_per_sec.round() as u64),
                    r.end_to_end.mb_per_sec,
                    thousands(r.publish.msgs_per_sec.round() as u64),
                    micros(r.publish_latency.p50_us),
                    micros(r.publish_latency.p99_us),
                    micros(r.end_to_end_latency.p50_us),
                    micros(r.end_to_end_latency.p99_us),
                    r.verification.lost,
                    r.verification.duplicates,
                    setup.join(", "),
                    r.workload.batch,
                );
            }
            Entry::NotMeasured { status, reason } => {
                let word = match status {
                    Status::Skipped => "skipped",
                    Status::Failed => "**failed**",
                };
                let reason = reason.replace('|', "\\|").replace('\n', " ");
                let _ = writeln!(table, "| {system} | {word}: {reason} ||||||||||||");
            }
        }
    }
    table
}

fn targets(results: &Results, memory: Option<&Memory>) -> String {
    let mut table = TargetsTable::new("Targets of issue 7");
    let pubsub_a = results.measured("a", MEMORY_ROW);
    let nats_a = results.measured("a", "nats-jetstream");
    match (pubsub_a, nats_a) {
        (Some(ours), Some(nats)) => {
            let ratio = ours.end_to_end.msgs_per_sec / nats.end_to_end.msgs_per_sec;
            table.row(
                MEMORY_TARGET,
                &format!(
                    "{} vs {} msgs/s = {ratio:.2}×",
                    thousands(ours.end_to_end.msgs_per_sec.round() as u64),
                    thousands(nats.end_to_end.msgs_per_sec.round() as u64)
                ),
                Some(ratio >= 1.5),
            );
        }
        _ => table.row(MEMORY_TARGET, "a side is missing (see the table)", None),
    }
    let (measured_redis, verdict) = redis_storage_target(
        results.measured("a", REDIS_ROW),
        results.measured("a", "redis-streams"),
        nats_a,
    );
    table.row(
        "Redis storage (`pubsubgo-redis-stream`), (a): e2e msgs/s ≥ 0.7× Redis Streams \
         direct and ≥ NATS JetStream",
        &measured_redis,
        verdict,
    );
    let pubsub_b = results.measured("b", MEMORY_ROW);
    let redis_b = results.measured("b", "redis-streams");
    match (pubsub_b, redis_b) {
        (Some(ours), Some(redis)) => {
            let ours_p50 = ours.publish_latency.p50_us;
            let xadd_p50 = redis.publish_latency.p50_us.max(1);
            let ratio = ours_p50 as f64 / xadd_p50 as f64;
            table.row(
                "(b), memory storage (`pubsubgo-stream`): publish-ack p50 < 2× a raw Redis XADD round trip",
                &format!(
                    "{} vs XADD {} = {ratio:.2}×",
                    micros(ours_p50),
                    micros(xadd_p50)
                ),
                Some(ratio < 2.0),
            );
        }
        _ => table.row(
                "(b), memory storage (`pubsubgo-stream`): publish-ack p50 < 2× a raw Redis XADD round trip",
            "a side is missing (see the table)",
            None,
        ),
    }
    match pubsub_b {
        Some(ours) => {
            let l = &ours.publish_latency;
            let ratio = l.p99_us as f64 / l.p50_us.max(1) as f64;
            table.row(
                "(b), `pubsubgo-stream`: publish-ack p99 < 5× its own p50",
                &format!(
                    "p99 {} / p50 {} = {ratio:.2}×",
                    micros(l.p99_us),
                    micros(l.p50_us)
                ),
                Some(ratio < 5.0),
            );
        }
        None => table.row(
            "(b), `pubsubgo-stream`: publish-ack p99 < 5× its own p50",
            "missing",
            None,
        ),
    }
    match memory {
        Some(m) => {
            table.row(
                "idle server RSS < 50 MiB",
                &m.idle_shown(),
                Some(m.idle_mib() < 50.0),
            );
            table.row(
                "RSS with 1,000,000 unconsumed 256 B messages < 2× the payload",
                &m.loaded_shown(),
                Some(m.loaded_ratio() < 2.0 && m.loaded_messages >= 1_000_000),
            );
        }
        None => table.row("server RSS idle and loaded", "not read", None),
    }
    table.finish()
}

/// The Redis-storage target on workload (a): PubSubGo on Redis storage (`ours`) reaches
/// at least 0.7× the end-to-end msgs/s of Redis Streams used directly and at least
/// NATS JetStream's. Answers the measured figures and the verdict, `None` when a side
/// is missing.
fn redis_storage_target(
    ours: Option<&Report>,
    redis: Option<&Report>,
    nats: Option<&Report>,
) -> (String, Option<bool>) {
    let (Some(ours), Some(redis), Some(nats)) = (ours, redis, nats) else {
        return ("a side is missing (see the table)".to_owned(), None);
    };
    let rate = |r: &Report| r.end_to_end.msgs_per_sec;
    let shown = |r: &Report| thousands(rate(r).round() as u64);
    let vs_redis = rate(ours) / rate(redis);
    let vs_nats = rate(ours) / rate(nats);
    let measured = format!(
        "{} msgs/s: vs Redis Streams {} = {vs_redis:.2}× (needs 0.70×), vs NATS JetStream {} \
         = {vs_nats:.2}× (needs 1.00×)",
        shown(ours),
        shown(redis),
        shown(nats),
    );
    (measured, Some(vs_redis >= 0.7 && vs_nats >= 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(e2e_msgs_per_sec: f64) -> Report {
        Report {
            system: String::new(),
            version: String::new(),
            workload: bench::Workload::default(),
            publish: bench::Throughput::default(),
            end_to_end: bench::Throughput {
                msgs_per_sec: e2e_msgs_per_sec,
                ..bench::Throughput::default()
            },
            publish_latency: Default::default(),
            end_to_end_latency: Default::default(),
            verification: Default::default(),
        }
    }

    #[test]
    fn the_redis_target_needs_both_ratios() {
        let (redis, nats) = (report(200_000.0), report(100_000.0));
        let verdict =
            |ours: f64| redis_storage_target(Some(&report(ours)), Some(&redis), Some(&nats));

        let (measured, met) = verdict(150_000.0);
        assert_eq!(met, Some(true), "{measured}");
        assert_eq!(
            measured,
            "150,000 msgs/s: vs Redis Streams 200,000 = 0.75× (needs 0.70×), \
             vs NATS JetStream 100,000 = 1.50× (needs 1.00×)"
        );
        assert_eq!(
            verdict(130_000.0).1,
            Some(false),
            "under 0.7× Redis Streams"
        );
        let fast_nats = report(160_000.0);
        let (_, met) =
            redis_storage_target(Some(&report(150_000.0)), Some(&redis), Some(&fast_nats));
        assert_eq!(met, Some(false), "under NATS JetStream");
        let (measured, met) = redis_storage_target(None, Some(&redis), Some(&nats));
        assert_eq!(
            (measured.as_str(), met),
            ("a side is missing (see the table)", None)
        );
    }

    #[test]
    fn the_microbenchmarks_section_survives_a_rewrite() {
        let page = std::env::temp_dir().join(format!("benchmarks-{}.md", std::process::id()));
        std::fs::write(
            &page,
            "# Benchmarks\n\n## Targets of issue 7\n\n| a | b |\n\n## Microbenchmarks\n\nfigures\n",
        )
        .expect("write a page");
        assert_eq!(
            kept_microbenchmarks(&page),
            "\n## Microbenchmarks\n\nfigures\n"
        );
        std::fs::remove_file(&page).expect("remove the page");
        assert_eq!(kept_microbenchmarks(&page), "", "no page, nothing to keep");
    }
}

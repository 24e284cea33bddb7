//! The "Targets of issue 18" table, computed from the run's own rows: each target's
//! figure, and a verdict that also requires 0 lost and 0 duplicates in every row it
//! reads.

use std::fmt::Write as _;

use bench::Report;
use bench::report::{micros, thousands};

use crate::cpu::CpuUses;
use crate::memory::Memory;
use crate::results::Results;
use crate::targets_table::TargetsTable;

/// What a ratio target compares between two rows of one workload.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// End-to-end msgs/s; met when ours / theirs ≥ the bound.
    Throughput,
    /// Publish-ack p50; met when ours / theirs ≤ the bound.
    PublishP50,
}

/// A target that compares one of our rows with a peer's: "{what} ≥ (or ≤) {bound}× {than}".
struct RatioTarget {
    what: &'static str,
    than: &'static str,
    workload: &'static str,
    ours: &'static str,
    theirs: &'static str,
    measure: Measure,
    bound: f64,
}

impl RatioTarget {
    fn text(&self) -> String {
        let relation = match self.measure {
            Measure::Throughput => "≥",
            Measure::PublishP50 => "≤",
        };
        format!("{} {relation} {}× {}", self.what, self.bound, self.than)
    }
}

/// Targets 1, 2 and 3 of the issue: throughput ones first, then latency ones.
const RATIO_TARGETS: [RatioTarget; 6] = [
    RatioTarget {
        what: "1. Redis storage, stream frames of 64 (`pubsubgo-redis-stream-batch64`), (a): \
               e2e msgs/s",
        than: "Redis Streams direct",
        workload: "a",
        ours: "pubsubgo-redis-stream-batch64",
        theirs: "redis-streams",
        measure: Measure::Throughput,
        bound: 0.8,
    },
    RatioTarget {
        what: "1. Redis storage, REST batches of 64 (`pubsubgo-redis-batch64`), (a): e2e msgs/s",
        than: "Redis Streams direct",
        workload: "a",
        ours: "pubsubgo-redis-batch64",
        theirs: "redis-streams",
        measure: Measure::Throughput,
        bound: 0.5,
    },
    RatioTarget {
        what: "2. one message per `:publishStream` frame, memory storage (`pubsubgo-stream`), \
               (a): e2e msgs/s",
        than: "NATS JetStream",
        workload: "a",
        ours: "pubsubgo-stream",
        theirs: "nats-jetstream",
        measure: Measure::Throughput,
        bound: 2.0,
    },
    RatioTarget {
        what: "3. (b), memory storage over REST (`pubsubgo`): publish p50",
        than: "NATS JetStream's",
        workload: "b",
        ours: "pubsubgo",
        theirs: "nats-jetstream",
        measure: Measure::PublishP50,
        bound: 1.2,
    },
    RatioTarget {
        what: "3. (b), memory storage over streams (`pubsubgo-stream`), kept ahead: publish p50",
        than: "NATS JetStream's",
        workload: "b",
        ours: "pubsubgo-stream",
        theirs: "nats-jetstream",
        measure: Measure::PublishP50,
        bound: 1.0,
    },
    RatioTarget {
        what: "3. (b), Redis storage over streams (`pubsubgo-redis-stream`): publish p50",
        than: "a raw `XADD`'s (`redis-streams`)",
        workload: "b",
        ours: "pubsubgo-redis-stream",
        theirs: "redis-streams",
        measure: Measure::PublishP50,
        bound: 2.0,
    },
];

/// Single-message REST publishing, memory storage, (a): at least this many e2e msgs/s.
const REST_ROW: &str = "pubsubgo";
const REST_MSGS_PER_SEC: f64 = 40_000.0;

/// A cluster hop: (3-node row, 1-node row) pairs whose broker CPU per message is
/// compared, and the largest ratio allowed.
const HOP_ROWS: [(&str, &str); 2] = [
    ("pubsubgo-cluster3-redis-stream", "pubsubgo-redis-stream"),
    (
        "pubsubgo-cluster3-redis-stream-batch64",
        "pubsubgo-redis-stream-batch64",
    ),
];
const HOP_RATIO: f64 = 1.5;
/// The workloads `run.sh` names the alternating rounds of those rows (`hop1`, `hop2`…).
const HOP_ROUNDS: &str = "hop";

const IDLE_MIB: f64 = 30.0;
const LOADED_RATIO: f64 = 2.0;

/// Lost or duplicated messages in any of `rows`, said as text; `None` when all are clean.
fn unverified(rows: &[(&str, &Report)]) -> Option<String> {
    let dirty: Vec<String> = rows
        .iter()
        .filter(|(_, r)| r.verification.lost > 0 || r.verification.duplicates > 0)
        .map(|(name, r)| {
            format!(
                "`{name}` lost {}, duplicated {}",
                r.verification.lost, r.verification.duplicates
            )
        })
        .collect();
    (!dirty.is_empty()).then(|| dirty.join("; "))
}

/// A verdict that holds only when the rows read are clean: the figure, then the verdict.
fn checked(rows: &[(&str, &Report)], figure: String, met: bool) -> (String, Option<bool>) {
    match unverified(rows) {
        Some(dirty) => (format!("{figure}; {dirty}"), Some(false)),
        None => (figure, Some(met)),
    }
}

fn ratio_target(results: &Results, t: &RatioTarget) -> (String, Option<bool>) {
    let (Some(ours), Some(theirs)) = (
        results.measured(t.workload, t.ours),
        results.measured(t.workload, t.theirs),
    ) else {
        return ("a side is missing (see the tables)".to_owned(), None);
    };
    let rows = [(t.ours, ours), (t.theirs, theirs)];
    match t.measure {
        Measure::Throughput => {
            let ratio = ours.end_to_end.msgs_per_sec / theirs.end_to_end.msgs_per_sec.max(1e-9);
            let figure = format!(
                "{} vs {} msgs/s = {ratio:.2}× (needs {:.2}×)",
                thousands(ours.end_to_end.msgs_per_sec.round() as u64),
                thousands(theirs.end_to_end.msgs_per_sec.round() as u64),
                t.bound
            );
            checked(&rows, figure, ratio >= t.bound)
        }
        Measure::PublishP50 => {
            let (a, b) = (ours.publish_latency.p50_us, theirs.publish_latency.p50_us);
            let ratio = a as f64 / b.max(1) as f64;
            let figure = format!(
                "{} vs {} = {ratio:.2}× (at most {:.2}×)",
                micros(a),
                micros(b),
                t.bound
            );
            checked(&rows, figure, ratio <= t.bound)
        }
    }
}

fn rest_target(results: &Results) -> (String, Option<bool>) {
    let Some(ours) = results.measured("a", REST_ROW) else {
        return ("missing (see the tables)".to_owned(), None);
    };
    let rate = ours.end_to_end.msgs_per_sec;
    let figure = format!("{} msgs/s", thousands(rate.round() as u64));
    checked(&[(REST_ROW, ours)], figure, rate >= REST_MSGS_PER_SEC)
}

/// Broker CPU per message of a 3-node row over its 1-node row.
fn hop_target(
    results: &Results,
    cpu: &CpuUses,
    cluster: &'static str,
    single: &'static str,
) -> (String, Option<bool>) {
    let Some((c_us, s_us)) = hop_cpu(results, cpu, "a", cluster, single) else {
        return (
            "a side or its CPU reading is missing (see the tables)".to_owned(),
            None,
        );
    };
    let ratio = c_us / s_us.max(1e-9);
    let mut figure = format!(
        "3 nodes {c_us:.1} µs vs 1 node {s_us:.1} µs of broker CPU per message = {ratio:.2}×"
    );
    let mut ratios = vec![ratio];
    let mut rounds = Vec::new();
    let mut rows: Vec<(&str, &Report)> = Vec::new();
    for workload in std::iter::once("a").chain(results.workloads_named(HOP_ROUNDS)) {
        if workload != "a"
            && let Some((c, s)) = hop_cpu(results, cpu, workload, cluster, single)
        {
            rounds.push(c / s.max(1e-9));
        }
        rows.extend(
            [cluster, single]
                .into_iter()
                .filter_map(|row| Some((row, results.measured(workload, row)?))),
        );
    }
    if !rounds.is_empty() {
        let shown: Vec<String> = rounds.iter().map(|r| format!("{r:.2}")).collect();
        ratios.extend(&rounds);
        let _ = write!(
            figure,
            "; alternating rounds {}; median of all {} = {:.2}×",
            shown.join(", "),
            ratios.len(),
            median(&mut ratios)
        );
    }
    checked(&rows, figure, median(&mut ratios) <= HOP_RATIO)
}

/// Broker CPU µs per message of the 3-node and the 1-node row of one workload.
fn hop_cpu(
    results: &Results,
    cpu: &CpuUses,
    workload: &str,
    cluster: &str,
    single: &str,
) -> Option<(f64, f64)> {
    Some((
        cpu.per_message(results, workload, cluster).broker_us?,
        cpu.per_message(results, workload, single).broker_us?,
    ))
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The table: every target of issue 18, in the order.
pub fn targets(results: &Results, cpu: &CpuUses, memory: Option<&Memory>) -> String {
    let mut table = TargetsTable::new("Targets of issue 18");
    let (throughput, latency) = RATIO_TARGETS.split_at(3);
    for target in throughput {
        let (figure, verdict) = ratio_target(results, target);
        table.row(&target.text(), &figure, verdict);
    }
    let (figure, verdict) = rest_target(results);
    table.row(
        &format!(
            "2. memory storage over REST, one message per request (`{REST_ROW}`), (a): e2e ≥ {} \
             msgs/s",
            thousands(REST_MSGS_PER_SEC as u64)
        ),
        &figure,
        verdict,
    );
    for target in latency {
        let (figure, verdict) = ratio_target(results, target);
        table.row(&target.text(), &figure, verdict);
    }
    for (cluster, single) in HOP_ROWS {
        let (figure, verdict) = hop_target(results, cpu, cluster, single);
        table.row(
            &format!(
                "4. a cluster hop, (a): broker CPU per message of `{cluster}` (clients spread \
                 over 3 nodes) ≤ {HOP_RATIO}× `{single}`'s, the median of this run and its \
                 alternating rounds"
            ),
            &figure,
            verdict,
        );
    }
    match memory {
        Some(m) => {
            table.row(
                &format!("5. idle server RSS < {IDLE_MIB} MiB"),
                &m.idle_shown(),
                Some(m.idle_mib() < IDLE_MIB),
            );
            table.row(
                &format!(
                    "5. RSS with 1,000,000 unconsumed 256 B messages < {LOADED_RATIO}× the payload"
                ),
                &m.loaded_shown(),
                Some(m.loaded_ratio() < LOADED_RATIO && m.loaded_messages >= 1_000_000),
            );
        }
        None => table.row("5. server RSS idle and loaded", "not read", None),
    }
    table.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuUse;

    fn report(msgs_per_sec: f64, p50_us: u64) -> Report {
        let mut report = Report {
            system: String::new(),
            version: String::new(),
            workload: bench::Workload::default(),
            publish: bench::Throughput::default(),
            end_to_end: bench::Throughput {
                msgs_per_sec,
                ..bench::Throughput::default()
            },
            publish_latency: Default::default(),
            end_to_end_latency: Default::default(),
            verification: Default::default(),
        };
        report.publish_latency.p50_us = p50_us;
        report.verification.expected = 100_000;
        report
    }

    /// The verdict column of the row whose target starts with `prefix`.
    fn verdict(page: &str, prefix: &str) -> String {
        let line = page
            .lines()
            .find(|line| line.starts_with(&format!("| {prefix}")))
            .unwrap_or_else(|| panic!("no row {prefix} in\n{page}"));
        line.rsplit('|')
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    #[test]
    fn verdicts_follow_the_figures() {
        eprintln!("arrange: a run where stream frames of 64 reach 0.8× Redis");
        let mut results = Results::default();
        results.insert("a", "redis-streams", report(200_000.0, 0));
        results.insert("a", "pubsubgo-redis-stream-batch64", report(160_000.0, 0));
        results.insert("a", "pubsubgo-redis-batch64", report(99_000.0, 0));
        results.insert("b", "pubsubgo-redis-stream", report(0.0, 130));
        results.insert("b", "redis-streams", report(0.0, 65));
        let page = targets(&results, &CpuUses::default(), None);

        assert_eq!(
            verdict(&page, "1. Redis storage, stream frames"),
            "**met**",
            "{page}"
        );
        assert_eq!(
            verdict(&page, "1. Redis storage, REST"),
            "**missed**",
            "{page}"
        );
        assert_eq!(verdict(&page, "3. (b), Redis storage"), "**met**", "{page}");
        assert_eq!(verdict(&page, "2. one message"), "not measured", "{page}");
        assert_eq!(verdict(&page, "5. server RSS"), "not measured", "{page}");

        eprintln!("act: the same rows with one duplicate");
        let mut dirty = report(160_000.0, 0);
        dirty.verification.duplicates = 1;
        results.insert("a", "pubsubgo-redis-stream-batch64", dirty);
        let page = targets(&results, &CpuUses::default(), None);
        assert_eq!(
            verdict(&page, "1. Redis storage, stream frames"),
            "**missed**",
            "{page}"
        );
        assert!(page.contains("duplicated 1"), "{page}");
    }

    #[test]
    fn the_cluster_hop_compares_cpu_per_message() {
        let mut results = Results::default();
        let mut cpu = CpuUses::default();
        let seconds = |s: f64, servers| CpuUse {
            broker_seconds: Some(s),
            servers,
            redis_seconds: None,
        };
        for (cluster, single) in HOP_ROWS {
            results.insert("a", cluster, report(1.0, 0));
            results.insert("a", single, report(1.0, 0));
            cpu.insert("a", single, seconds(2.0, 1));
            // 100,000 messages: 20 µs on one node; 29 µs (1.45×) on the first pair,
            // 31 µs (1.55×) on the second.
            let cluster_seconds = if cluster.ends_with("batch64") {
                3.1
            } else {
                2.9
            };
            cpu.insert("a", cluster, seconds(cluster_seconds, 3));
        }
        let page = targets(&results, &cpu, None);
        let hop = |row: &str| {
            verdict(
                &page,
                &format!("4. a cluster hop, (a): broker CPU per message of `{row}`"),
            )
        };
        assert_eq!(hop(HOP_ROWS[0].0), "**met**", "{page}");
        assert_eq!(hop(HOP_ROWS[1].0), "**missed**", "{page}");
        assert!(page.contains("3 nodes 29.0 µs vs 1 node 20.0 µs"), "{page}");

        eprintln!(
            "act: two alternating rounds, 1.60× and 1.70× on the first pair, 1.20× and 1.40× on the second"
        );
        for (round, first, second) in [("hop1", 3.2, 2.4), ("hop2", 3.4, 2.8)] {
            for ((cluster, single), cluster_seconds) in HOP_ROWS.into_iter().zip([first, second]) {
                results.insert(round, cluster, report(1.0, 0));
                results.insert(round, single, report(1.0, 0));
                cpu.insert(round, single, seconds(2.0, 1));
                cpu.insert(round, cluster, seconds(cluster_seconds, 3));
            }
        }
        let page = targets(&results, &cpu, None);
        let hop = |row: &str| {
            verdict(
                &page,
                &format!("4. a cluster hop, (a): broker CPU per message of `{row}`"),
            )
        };
        assert_eq!(hop(HOP_ROWS[0].0), "**missed**", "median 1.60: {page}");
        assert_eq!(hop(HOP_ROWS[1].0), "**met**", "median 1.40: {page}");
        assert!(
            page.contains("alternating rounds 1.20, 1.40; median of all 3 = 1.40×"),
            "{page}"
        );
    }

    #[test]
    fn memory_targets_read_the_rss() {
        let memory = |idle_kib, loaded_kib| Memory {
            idle_kib,
            idle_anon_kib: None,
            idle_file_kib: None,
            loaded_kib,
            loaded_messages: 1_000_000,
            loaded_size: 256,
        };
        // 1,000,000 × 256 B = 250,000 KiB of payload.
        let page = targets(
            &Results::default(),
            &CpuUses::default(),
            Some(&memory(29 * 1024, 480_000)),
        );
        assert_eq!(verdict(&page, "5. idle"), "**met**", "{page}");
        assert_eq!(verdict(&page, "5. RSS with"), "**met**", "{page}");
        let page = targets(
            &Results::default(),
            &CpuUses::default(),
            Some(&memory(31 * 1024, 510_000)),
        );
        assert_eq!(verdict(&page, "5. idle"), "**missed**", "{page}");
        assert_eq!(verdict(&page, "5. RSS with"), "**missed**", "{page}");
    }
}

//! The "Targets of issue 18" table, computed from the run's own rows: each target's
//! figure, and a verdict that also requires 0 lost and 0 duplicates in every row it
//! reads.

use bench::Report;
use bench::report::{micros, thousands};

use crate::cpu::CpuUses;
use crate::memory::Memory;
use crate::results::Results;
use crate::rounds::{rounds_of, with_rounds};
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
    /// Ours over theirs in one workload (the run's, or one of its rounds).
    fn ratio_in(&self, results: &Results, workload: &str) -> Option<f64> {
        let ours = results.measured(workload, self.ours)?;
        let theirs = results.measured(workload, self.theirs)?;
        Some(self.ratio(ours, theirs))
    }

    fn ratio(&self, ours: &Report, theirs: &Report) -> f64 {
        match self.measure {
            Measure::Throughput => {
                ours.end_to_end.msgs_per_sec / theirs.end_to_end.msgs_per_sec.max(1e-9)
            }
            Measure::PublishP50 => {
                ours.publish_latency.p50_us as f64 / theirs.publish_latency.p50_us.max(1) as f64
            }
        }
    }

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
    let ratio = t.ratio(ours, theirs);
    let (rounds, rows) = rounds_of(
        results,
        t.workload,
        &format!("{}-r", t.workload),
        [t.ours, t.theirs],
        |round| t.ratio_in(results, round),
    );
    let (tail, middle) = with_rounds(ratio, &rounds);
    match t.measure {
        Measure::Throughput => {
            let figure = format!(
                "{} vs {} msgs/s = {ratio:.2}×{tail} (needs {:.2}×)",
                thousands(ours.end_to_end.msgs_per_sec.round() as u64),
                thousands(theirs.end_to_end.msgs_per_sec.round() as u64),
                t.bound
            );
            checked(&rows, figure, middle >= t.bound)
        }
        Measure::PublishP50 => {
            let figure = format!(
                "{} vs {} = {ratio:.2}×{tail} (at most {:.2}×)",
                micros(ours.publish_latency.p50_us),
                micros(theirs.publish_latency.p50_us),
                t.bound
            );
            checked(&rows, figure, middle <= t.bound)
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
    let figure = format!(
        "3 nodes {c_us:.1} µs vs 1 node {s_us:.1} µs of broker CPU per message = {ratio:.2}×"
    );
    let (rounds, rows) = rounds_of(results, "a", HOP_ROUNDS, [cluster, single], |round| {
        let (c, s) = hop_cpu(results, cpu, round, cluster, single)?;
        Some(c / s.max(1e-9))
    });
    let (tail, middle) = with_rounds(ratio, &rounds);
    checked(&rows, format!("{figure}{tail}"), middle <= HOP_RATIO)
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

/// The table: every target of issue 18, in the issue's order.
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
mod tests;

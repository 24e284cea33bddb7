//! The targets table against runs made in code.

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
fn a_ratio_target_takes_the_median_of_the_run_and_its_rounds() {
    eprintln!("arrange: REST p50 1.30× NATS's in the run, 1.10× and 1.15× in two rounds");
    let mut results = Results::default();
    for (workload, ours) in [("b", 130), ("b-r1", 110), ("b-r2", 115)] {
        results.insert(workload, "pubsubgo", report(0.0, ours));
        results.insert(workload, "nats-jetstream", report(0.0, 100));
    }
    let page = targets(&results, &CpuUses::default(), None);
    assert_eq!(
        verdict(&page, "3. (b), memory storage over REST"),
        "**met**",
        "{page}"
    );
    assert!(
        page.contains("1.30×; alternating rounds 1.10, 1.15; median of all 3 = 1.15×"),
        "{page}"
    );

    eprintln!("act: a round with a lost message counts against the verdict");
    let mut lossy = report(0.0, 110);
    lossy.verification.lost = 1;
    results.insert("b-r1", "pubsubgo", lossy);
    let page = targets(&results, &CpuUses::default(), None);
    assert_eq!(
        verdict(&page, "3. (b), memory storage over REST"),
        "**missed**",
        "{page}"
    );
}

/// Both pairs of [`HOP_ROWS`] in `workload`: 100,000 messages each, 2 s of broker CPU
/// (20 µs a message) on one node and `cluster_seconds` on three.
fn hop_pairs(results: &mut Results, cpu: &mut CpuUses, workload: &str, cluster_seconds: [f64; 2]) {
    let seconds = |s: f64, servers| CpuUse {
        broker_seconds: Some(s),
        servers,
        redis_seconds: None,
    };
    for ((cluster, single), on_three) in HOP_ROWS.into_iter().zip(cluster_seconds) {
        results.insert(workload, cluster, report(1.0, 0));
        results.insert(workload, single, report(1.0, 0));
        cpu.insert(workload, single, seconds(2.0, 1));
        cpu.insert(workload, cluster, seconds(on_three, 3));
    }
}

#[test]
fn the_cluster_hop_compares_cpu_per_message() {
    let mut results = Results::default();
    let mut cpu = CpuUses::default();
    // 29 µs (1.45×) on the first pair, 31 µs (1.55×) on the second.
    hop_pairs(&mut results, &mut cpu, "a", [2.9, 3.1]);
    let page = targets(&results, &cpu, None);
    let hop = |page: &str, row: &str| {
        verdict(
            page,
            &format!("4. a cluster hop, (a): broker CPU per message of `{row}`"),
        )
    };
    assert_eq!(hop(&page, HOP_ROWS[0].0), "**met**", "{page}");
    assert_eq!(hop(&page, HOP_ROWS[1].0), "**missed**", "{page}");
    assert!(page.contains("3 nodes 29.0 µs vs 1 node 20.0 µs"), "{page}");

    eprintln!(
        "act: two alternating rounds, 1.60× and 1.70× on the first pair, 1.20× and 1.40× on the second"
    );
    hop_pairs(&mut results, &mut cpu, "hop1", [3.2, 2.4]);
    hop_pairs(&mut results, &mut cpu, "hop2", [3.4, 2.8]);
    let page = targets(&results, &cpu, None);
    assert_eq!(
        hop(&page, HOP_ROWS[0].0),
        "**missed**",
        "median 1.60: {page}"
    );
    assert_eq!(hop(&page, HOP_ROWS[1].0), "**met**", "median 1.40: {page}");
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

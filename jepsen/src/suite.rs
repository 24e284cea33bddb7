//! The CI selection (`--suite ci`): each scenario marked `ci` in a sandbox of
//! its own, then each test-only break (when a server built with them is
//! given), which passes only when its checker catches it; a table of the
//! results (`DIR/summary.md`) and the closing `N passed, N failed`.

#![allow(clippy::print_stdout, reason = "the suite reports on stdout")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::scenario;

/// One test-only break and the checker that must catch it.
#[derive(Debug, Clone, Copy)]
pub struct Break {
    /// `PUBSUB_TEST_BREAK`'s value (node's `test_breaks` module).
    pub name: &'static str,
    /// The scenario whose faults expose it.
    pub scenario: &'static str,
    /// The property (prefix) that must fail.
    pub caught_by: &'static str,
    /// A seed whose schedule exposes it (the fence needs a split longer than
    /// the owner timeout, while both owners have pullers).
    pub seed: u64,
    /// A shorter `--time-limit` than the suite's, for a break the workload
    /// alone exposes.
    pub time_limit: Option<u64>,
    /// Run by the CI selection. A break another guarantee now also covers
    /// produces no violation reliably any more; it stays runnable by hand.
    pub ci: bool,
}

/// Every break the server's `test-breaks` feature has.
pub const BREAKS: [Break; 6] = [
    Break {
        name: "ack-before-append",
        scenario: "kill",
        caught_by: "lost-acked",
        seed: 1,
        time_limit: None,
        ci: true,
    },
    Break {
        name: "skip-epoch-fence",
        scenario: "brokers-split",
        caught_by: "no-stale-owner",
        seed: 2,
        time_limit: None,
        ci: true,
    },
    // `kill-split` holds the leader's log off the restarted node for 3 s,
    // so it serves on its old metadata every run, not only when a client
    // beats the leader's first append. Seed 4: one step, node 2 down 7.4 s
    // (its partitions move), within 15 s.
    Break {
        name: "serve-before-catch-up",
        scenario: "kill-split",
        caught_by: "no-stale-owner",
        seed: 4,
        time_limit: Some(15),
        ci: true,
    },
    Break {
        name: "double-assign",
        scenario: "none",
        caught_by: "group-exclusive",
        seed: 1,
        time_limit: Some(10),
        ci: true,
    },
    // A dropped ack shows once the lease expires (the workload's ack
    // deadline is 10 s) while the run still pulls.
    Break {
        name: "ack-dropped",
        scenario: "none",
        caught_by: "no-delivery-after-ack",
        seed: 1,
        time_limit: Some(20),
        ci: true,
    },
    Break {
        name: "create-exists-ok",
        scenario: "none",
        caught_by: "linearizable-metadata",
        seed: 1,
        time_limit: Some(10),
        ci: true,
    },
];

/// Runs of a break, with its seed, before it counts as not caught. Whether a
/// run exposes a break depends on timing as well as on the seed's schedule:
/// `skip-epoch-fence` under `brokers-split` (seed 2) went uncaught once in
/// about a dozen runs (2026-12-07), its split long enough but no stale lease
/// landing after the new owner's. A break never caught still fails the suite.
const BREAK_ATTEMPTS: u32 = 3;

/// CI scenarios run shorter than the suite's `--time-limit` (the lesser of
/// the two), so each stays near 40 s with setup and drain: a bridge needs no
/// long window to split the cluster, one membership cycle (join, 4-9 s
/// of load, drain) runs longer than its schedule says, and a Redis Cluster
/// takes longer to set up (`failover::CI_TIME_LIMIT`: one failover).
const CI_TIME_LIMITS: [(&str, u64); 3] = [
    ("bridge", 20),
    ("membership", 15),
    ("redis-failover", crate::failover::CI_TIME_LIMIT),
];

/// What the suite runs each child with.
#[derive(Debug, Clone)]
pub struct SuiteArgs {
    pub seed: u64,
    pub time_limit: u64,
    pub nodes: u64,
    pub out: PathBuf,
    pub server: Option<PathBuf>,
    /// A server built with the `test-breaks` feature: run the breaks too.
    pub breaks_server: Option<PathBuf>,
}

fn child(args: &SuiteArgs, scenario: &str, seed: u64, time_limit: u64, out: &Path) -> Command {
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("jepsen"));
    let mut command = Command::new(me);
    command
        .args(["--scenario", scenario])
        .args(["--seed", &seed.to_string()])
        .args(["--time-limit", &time_limit.to_string()])
        .args(["--nodes", &args.nodes.to_string()])
        .arg("--out")
        .arg(out);
    command
}

/// Runs the suite; returns (passed, failed) and writes `summary.md`.
pub fn run(args: &SuiteArgs) -> Result<(u32, u32)> {
    let (mut passed, mut failed) = (0, 0);
    let mut table = String::from(
        "| scenario | result | acked (leader / fsynced [/ replicated:1]) | unknown | lost acked | duplicates | order | group exclusive | stale owner | exactly-once acks | dead letters | recovery after heal |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in scenario::all().into_iter().filter(|s| s.ci) {
        let out = args.out.join(s.name);
        let time_limit = CI_TIME_LIMITS
            .iter()
            .find(|(name, _)| *name == s.name)
            .map_or(args.time_limit, |&(_, limit)| limit.min(args.time_limit));
        let mut command = child(args, s.name, args.seed, time_limit, &out);
        let server = if s.needs_breaks_server() {
            let Some(server) = &args.breaks_server else {
                println!("scenario {}: skipped (needs --breaks-server)", s.name);
                continue;
            };
            Some(server)
        } else {
            args.server.as_ref()
        };
        if let Some(server) = server {
            command.arg("--server").arg(server);
        }
        let ok = command.status()?.success();
        println!(
            "scenario {}: {}",
            s.name,
            if ok { "passed" } else { "FAILED" }
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        table.push_str(&row(s.name, &out, if ok { "passed" } else { "FAILED" }));
    }
    if let Some(server) = &args.breaks_server {
        for b in BREAKS.iter().filter(|b| b.ci) {
            let (ok, out) = run_break(args, server, b)?;
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
            let name = format!("{} (seed {}) + break {}", b.scenario, b.seed, b.name);
            let verdict = if ok {
                "break caught"
            } else {
                "break NOT caught"
            };
            table.push_str(&row(&name, &out, verdict));
        }
    }
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("summary.md"), &table)?;
    println!("\n{table}");
    Ok((passed, failed))
}

/// Runs break `b` up to [`BREAK_ATTEMPTS`] times until its checker catches
/// it; answers whether it did and the last run's directory.
fn run_break(args: &SuiteArgs, server: &Path, b: &Break) -> Result<(bool, PathBuf)> {
    let time_limit = b.time_limit.unwrap_or(args.time_limit);
    let mut attempt = 1;
    loop {
        let out = match attempt {
            1 => args.out.join(format!("break-{}", b.name)),
            n => args.out.join(format!("break-{}-attempt-{n}", b.name)),
        };
        let mut command = child(args, b.scenario, b.seed, time_limit, &out);
        command
            .arg("--server")
            .arg(server)
            .args(["--node-env", &format!("PUBSUB_TEST_BREAK={}", b.name)])
            .args(["--expect-violation", b.caught_by]);
        let ok = command.status()?.success();
        let verdict = match (ok, attempt) {
            (true, 1) => format!("caught by {}", b.caught_by),
            (true, n) => format!("caught by {} (run {n} of {BREAK_ATTEMPTS})", b.caught_by),
            (false, n) if n < BREAK_ATTEMPTS => {
                format!("not caught by {} in run {n}; running it again", b.caught_by)
            }
            (false, _) => format!("NOT caught by {} in {BREAK_ATTEMPTS} runs", b.caught_by),
        };
        println!("break {} under {}: {verdict}", b.name, b.scenario);
        if ok || attempt == BREAK_ATTEMPTS {
            return Ok((ok, out));
        }
        attempt += 1;
    }
}

/// One row of the summary from a run's `results.json`.
fn row(name: &str, out: &Path, verdict_of_run: &str) -> String {
    let results: serde_json::Value = std::fs::read_to_string(out.join("results.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let outcomes = results["outcomes"].as_array().cloned().unwrap_or_default();
    let find = |property: &str| outcomes.iter().find(|o| o["property"] == property);
    let count = |property: &str, name: &str| {
        find(property)
            .and_then(|o| o["counts"][name].as_u64())
            .unwrap_or(0)
    };
    let verdict = |properties: &[&str]| {
        let failed: Vec<_> = properties
            .iter()
            .filter_map(|p| find(p))
            .filter(|o| o["passed"] == false)
            .collect();
        // A run beyond some levels' promise measures each data property
        // over every topic too (`<property>:all-levels`).
        let measured = properties
            .iter()
            .filter_map(|p| find(&format!("{p}:all-levels")))
            .any(|o| o["passed"] == false);
        match failed.first() {
            None if measured => "ok (all levels: FAIL, measured)",
            None => "ok",
            Some(o) if o["known_issue"].is_string() => "FAIL (known issue)",
            Some(_) => "FAIL",
        }
    };
    let levels: Vec<&str> = ["leader", "fsynced", "replicated:1"]
        .into_iter()
        .filter(|l| *l != "replicated:1" || find("lost-acked:replicated:1").is_some())
        .collect();
    let mut acked = Vec::new();
    let mut lost = Vec::new();
    for level in &levels {
        let p = format!("lost-acked:{level}");
        acked.push(count(&p, "acked").to_string());
        lost.push(format!(
            "{}{}",
            count(&p, "violations"),
            if find(&p).is_some_and(|o| o["asserted"] == false) {
                " (measured)"
            } else {
                ""
            }
        ));
    }
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ms |\n",
        verdict_of_run,
        acked.join(" / "),
        results["counts"]["publishes_unknown"].as_u64().unwrap_or(0),
        lost.join(" / "),
        verdict(&["no-duplicates", "one-value-per-offset"]),
        verdict(&[
            "per-key-order",
            "per-key-delivery-order",
            "per-partition-order"
        ]),
        verdict(&["group-exclusive"]),
        verdict(&["no-stale-owner"]),
        verdict(&[
            &format!("no-delivery-after-ack:{}", crate::workload::ONCE.0),
            &format!("no-later-attempt-after-ack:{}", crate::workload::ONCE.0),
        ]),
        verdict(&["dead-letter", "dead-letter-copied"]),
        count("recovery", "delivery-ms").max(count("recovery", "publish-ms")),
    )
}

//! One scenario's run inside the sandbox, phase by phase: setup (the bridge,
//! Redis, the nodes, the topics), quiet, faults, heal, wait-healthy, drain and
//! check; then `history.jsonl`, `results.json` and `plot.svg` in the output
//! directory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::checkers::{Outcome, Promises, check_all, not_yet_listed};
use crate::consumer::Consumer;
use crate::history::{Event, History, Kind, Op};
use crate::nemesis::Nemesis;
use crate::net::{Net, REDIS};
use crate::procs::{Procs, REDIS_PORT};
use crate::recorder::Recorder;
use crate::register;
use crate::scenario::{Scenario, Step, schedule};
use crate::workload::{self, DEAD, GROUP, NACKED, ONCE, PACE};

/// What a run is told.
#[derive(Debug, Clone)]
pub struct Config {
    pub scenario: Scenario,
    pub seed: u64,
    /// Seconds of workload from the quiet phase to the heal.
    pub time_limit: u64,
    pub nodes: u64,
    pub out: PathBuf,
    pub server: PathBuf,
    /// Extra environment for every node (a test-only break).
    pub node_env: Vec<(String, String)>,
}

/// `results.json`.
#[derive(Debug, Serialize)]
pub struct Results {
    pub scenario: String,
    pub seed: u64,
    pub nodes: u64,
    pub passed: bool,
    pub schedule: Vec<Step>,
    pub outcomes: Vec<Outcome>,
    pub counts: Counts,
}

/// Totals of the history.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub publishes_acked: u64,
    pub publishes_failed: u64,
    pub publishes_unknown: u64,
    pub deliveries: u64,
}

/// The ack levels that survive every fault the scenarios inject: each fault
/// hits brokers or links, never the one Redis (AOF, `appendfsync always`),
/// so an acknowledged publish must survive at `leader` and at `fsynced`.
fn promises() -> Promises {
    Promises {
        surviving_ack_levels: vec!["leader".to_owned(), "fsynced".to_owned()],
        recovery_bound_ms: 30_000,
        dead_letter: Some(workload::dead_letter_policy()),
        exactly_once: vec![ONCE.0.to_owned()],
    }
}

/// Broker bugs the harness found and that are not fixed yet: the property's
/// failures are printed and recorded (`KNOWN`), not asserted.
pub const KNOWN_ISSUES: [(&str, &str); 1] = [(
    "no-later-attempt-after-ack:s-once",
    "found 2026-12-08 under skew, seed 1 (3 of 773 acked): a storage call carries its \
     caller's time (now_millis), so a lease made through a node 30 s behind is born \
     expired and the message is leased again at once (attempt 2); both deliveries' acks \
     succeed, because an ack of an already acknowledged offset answers success whatever \
     its attempt; not fixed (docs/chaos.md)",
)];

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut ready: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !ready().await {
        if Instant::now() > deadline {
            bail!("{what} not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

async fn all_ready(nodes: u64) -> bool {
    for node in 1..=nodes {
        let Ok(client) = workload::client(node) else {
            return false;
        };
        if client.ready().await.is_err() {
            return false;
        }
    }
    true
}

fn phase(recorder: &Recorder, name: &str) {
    recorder.record(Event::nemesis(0, Op::Phase, name));
    eprintln!("[{:>6.1}s] {name}", recorder.now() as f64 / 1000.0);
}

/// How long the drain goes on with no owed delivery arriving.
const DRAIN_STALL: Duration = Duration::from_secs(30);
/// The drain's bound while owed deliveries keep arriving.
const DRAIN_LIMIT: Duration = Duration::from_secs(90);

/// Lists `s-nack`'s dead letters until the listing holds every message nacked
/// at its last attempt so far, for up to 15 s.
async fn wait_listed(recorder: &Recorder) {
    let policy = workload::dead_letter_policy();
    let _ = wait_until(
        "every exhausted message listed",
        Duration::from_secs(15),
        || async {
            let listed = workload::list_dead_letters(recorder, 1).await;
            not_yet_listed(&recorder.history(), &policy, &listed).is_empty()
        },
    )
    .await;
}

/// The drain: consumers pull until every acknowledged publish reached every
/// subscription of its topic. It gives up after [`DRAIN_STALL`] without one
/// owed delivery arriving (a loss looks like that), or at [`DRAIN_LIMIT`]. A
/// backlog still shrinking is not a loss: an ordered subscription has one
/// message of an ordering key out at a time (the next after the ack), so a
/// key's backlog built up during a fault drains at one message per pull and
/// ack round trip, which load stretches (docs/chaos.md, Phases).
async fn drain(recorder: &Recorder, cluster: bool) {
    let began = Instant::now();
    let (mut owed, mut shrank) = (usize::MAX, Instant::now());
    loop {
        let now_owed = undelivered(&recorder.history(), cluster);
        if now_owed == 0 {
            return;
        }
        if now_owed < owed {
            (owed, shrank) = (now_owed, Instant::now());
        }
        if shrank.elapsed() >= DRAIN_STALL || began.elapsed() >= DRAIN_LIMIT {
            eprintln!(
                "  drain: {now_owed} deliveries still owed after {:.1?}",
                began.elapsed()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How many (subscription, value) deliveries the acknowledged publishes
/// still owe: each reaches every subscription of its topic.
fn undelivered(history: &History, cluster: bool) -> usize {
    let mut subscriptions: Vec<(&str, &str)> = workload::shared(cluster).to_vec();
    subscriptions.extend([GROUP, NACKED, ONCE]);
    let mut got = std::collections::BTreeSet::new();
    for (pull, d) in history.deliveries() {
        got.insert((pull.subscription.as_deref().unwrap_or(""), d.value.as_str()));
    }
    history
        .publishes(Kind::Ok)
        .map(|p| {
            subscriptions
                .iter()
                .filter(|(_, topic)| p.topic.as_deref() == Some(topic))
                .filter(|(s, _)| !got.contains(&(*s, p.value.as_deref().unwrap_or(""))))
                .count()
        })
        .sum()
}

/// Setup: the network, Redis, the nodes, the topics. An error here is a setup error.
pub async fn setup(config: &Config, recorder: &Arc<Recorder>) -> Result<Nemesis> {
    phase(recorder, "setup");
    let net = Arc::new(Net::build(config.nodes)?);
    let mut node_env = config.node_env.clone();
    node_env.extend(crate::membership::node_env(&config.scenario));
    let mut procs = Procs::new(config.server.clone(), &config.out, config.nodes, node_env);
    let cluster = config.scenario.redis_cluster();
    if cluster {
        procs.start_redis_cluster()?;
    } else {
        procs.start_redis()?;
    }
    let port = REDIS_PORT.to_string();
    wait_until("redis answers PING", Duration::from_secs(15), || async {
        cluster
            || std::process::Command::new("redis-cli")
                .args(["-h", REDIS, "-p", &port, "ping"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG")
    })
    .await?;
    for node in 1..=config.nodes {
        procs.start(node)?;
    }
    wait_until("every node ready", Duration::from_secs(90), || {
        all_ready(config.nodes)
    })
    .await?;
    let first = workload::client(1)?;
    workload::create(&first, cluster)
        .await
        .context("creating the topics and subscriptions")?;
    Ok(Nemesis {
        net,
        procs: Arc::new(Mutex::new(procs)),
        recorder: recorder.clone(),
    })
}

/// Runs the scenario; returns the results (written to the output directory).
pub async fn run(config: &Config, recorder: Arc<Recorder>, nemesis: Nemesis) -> Result<Results> {
    let n = config.nodes;
    let node = |i: u64| i % n + 1;
    let cluster = config.scenario.redis_cluster();
    let topics = workload::topics(cluster);
    let t = topics.len() as u64;
    let mut workers = Vec::new();
    // Per topic a keyed publisher (workers 0..t) and an unkeyed one (t..2t).
    for w in 0..2 * t {
        workers.push(tokio::spawn(workload::publish(
            recorder.clone(),
            w,
            node(w),
            topics[(w % t) as usize],
            w < t,
            PACE,
        )));
    }
    workers.push(tokio::spawn(workload::publish(
        recorder.clone(),
        2 * t,
        node(4),
        (NACKED.1, "leader"),
        false,
        PACE * 5,
    )));
    let nacker = Consumer::new(recorder.clone(), node(5), NACKED, false)?.nacking();
    workers.push(tokio::spawn(nacker.run()));
    let dead = Consumer::new(recorder.clone(), node(6), DEAD, false)?;
    workers.push(tokio::spawn(dead.run()));
    // Two pullers per shared subscription, on different nodes, so a
    // partition is pulled through its owner and through another node at once.
    for (i, &pair) in workload::shared(cluster).iter().enumerate() {
        for at in [i as u64, i as u64 + 1] {
            let consumer = Consumer::new(recorder.clone(), node(at), pair, false)?;
            workers.push(tokio::spawn(consumer.run()));
        }
    }
    // Two on the exactly-once subscription too: a message one of them leased
    // may be delivered to the other only after that lease expired unacked.
    for at in [3, 4] {
        let consumer = Consumer::new(recorder.clone(), node(at), ONCE, false)?;
        workers.push(tokio::spawn(consumer.run()));
    }
    for i in 2..4 {
        let consumer = Consumer::new(recorder.clone(), node(i), GROUP, true)?;
        workers.push(tokio::spawn(consumer.run()));
    }
    for w in 0..2 {
        workers.push(tokio::spawn(register::churn(recorder.clone(), w, n)));
    }
    phase(&recorder, "quiet");
    tokio::time::sleep(Duration::from_secs(5)).await;
    phase(&recorder, "faults");
    let window = config.time_limit.saturating_sub(5).max(5) * 1000;
    let steps = schedule(&config.scenario.faults, n, window, config.seed);
    let faults_begin = Instant::now();
    nemesis.run(&steps).await?;
    tokio::time::sleep(Duration::from_millis(window).saturating_sub(faults_begin.elapsed())).await;
    phase(&recorder, "heal");
    nemesis.heal(n)?;
    phase(&recorder, "wait-healthy");
    let healthy = wait_until(
        "every node ready after the heal",
        Duration::from_secs(60),
        || all_ready(n),
    )
    .await;
    if let Err(error) = &healthy {
        eprintln!("{error}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    recorder
        .stop_publishing
        .store(true, std::sync::atomic::Ordering::Relaxed);
    phase(&recorder, "drain");
    drain(&recorder, cluster).await;
    // Listed while the consumers still run, so the dead-letter topic's copies
    // of the last exhausted messages are pulled too; then once more after they
    // stop: a message nacked at its last attempt after a listing that was
    // complete then (the nacking consumer runs until told to stop) must be in
    // the listing the checker reads, the last one.
    wait_listed(&recorder).await;
    recorder
        .stop_consuming
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for worker in workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
    }
    wait_listed(&recorder).await;
    phase(&recorder, "check");
    let history = recorder.history();
    let mut outcomes = if cluster {
        crate::checkers::check_by_level(
            &history,
            &crate::failover::promises(),
            &crate::failover::measured_topics(),
        )
    } else {
        check_all(&history, &promises())
    };
    let mut known = KNOWN_ISSUES.to_vec();
    if cluster {
        known.extend(crate::failover::KNOWN_ISSUES);
    }
    for outcome in &mut outcomes {
        if let Some((_, why)) = known.iter().find(|(p, _)| *p == outcome.property) {
            outcome.known(why);
        }
    }
    let mut health = Outcome::new("healthy-after-heal");
    if let Err(error) = healthy {
        health.violation(error.to_string());
    }
    outcomes.push(health);
    let counts = Counts {
        publishes_acked: history.publishes(Kind::Ok).count() as u64,
        publishes_failed: history.publishes(Kind::Fail).count() as u64,
        publishes_unknown: history.publishes(Kind::Info).count() as u64,
        deliveries: history.deliveries().count() as u64,
    };
    let results = Results {
        scenario: config.scenario.name.to_owned(),
        seed: config.seed,
        nodes: n,
        passed: !outcomes.iter().any(Outcome::fails_run),
        schedule: steps,
        outcomes,
        counts,
    };
    write(config, &history, &results)?;
    if let Ok(mut procs) = nemesis.procs.lock() {
        procs.stop_all();
    }
    Ok(results)
}

fn write(config: &Config, history: &History, results: &Results) -> Result<()> {
    std::fs::write(config.out.join("history.jsonl"), history.to_jsonl())?;
    std::fs::write(
        config.out.join("results.json"),
        serde_json::to_string_pretty(results)?,
    )?;
    let title = format!(
        "{} (seed {}, {} nodes): {}",
        results.scenario,
        results.seed,
        results.nodes,
        if results.passed { "passed" } else { "FAILED" }
    );
    std::fs::write(
        config.out.join("plot.svg"),
        crate::plot::svg(history, &title),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Delivery;

    fn delivered(value: &str) -> Delivery {
        Delivery {
            value: value.to_owned(),
            partition: 0,
            offset: 0,
            attempt: 1,
            epoch: None,
            key: None,
        }
    }

    #[test_log::test]
    fn the_drain_counts_what_each_subscription_still_owes() {
        let publish = Event::publish(0, 1, "q-leader", "w0-1", "leader");
        let acked = publish.completed(1, Kind::Ok);
        let failed = Event::publish(2, 2, "q-fsynced", "w1-1", "fsynced").completed(3, Kind::Fail);
        let mut history = History::new(vec![publish, acked, failed]);
        // `q-leader` reaches `s-leader` and the group `g-leader`.
        assert_eq!(undelivered(&history, false), 2);
        history
            .events
            .push(Event::pulled(4, 3, "s-leader", vec![delivered("w0-1")]));
        assert_eq!(undelivered(&history, false), 1);
        history
            .events
            .push(Event::pulled(5, 4, "g-leader", vec![delivered("w0-1")]));
        assert_eq!(undelivered(&history, false), 0);
    }
}

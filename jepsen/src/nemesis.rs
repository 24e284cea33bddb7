//! [`Nemesis`]: applies a schedule of faults to the real processes and the
//! bridge, one at a time, recording a `start` and a `stop` event for each, and
//! heals everything at the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;

use crate::cluster_view::ClusterView;
use crate::consumer::Consumer;
use crate::history::{Event, Op};
use crate::net::{self, HARNESS, Net, REDIS};
use crate::procs::{CLIENT_PORT, Procs};
use crate::recorder::Recorder;
use crate::scenario::{Fault, RESTART_CUT, Step};
use crate::workload::SHARED;

/// The server's test-only clock offset (node's `test_breaks`), in signed ms.
const CLOCK_OFFSET: &str = "PUBSUB_TEST_CLOCK_OFFSET_MS";

/// How long a wipe waits for the previously wiped node to be a voter again.
const WHOLE_WITHIN: Duration = Duration::from_secs(30);

/// How long the pullers started at a restarted node pull
/// ([`Nemesis::pull_at_once`]).
const AT_ONCE_FOR: Duration = Duration::from_secs(3);
/// Their pause after a failed pull (the workload's pullers pause 200 ms).
const AT_ONCE_RETRY: Duration = Duration::from_millis(20);

/// How far a `skew` step moves its node's clock: 30 s ahead or behind, as
/// the schedule's start time (so the seed) has it.
pub fn skew_millis(step: &Step) -> i64 {
    if step.at_ms.is_multiple_of(2) {
        30_000
    } else {
        -30_000
    }
}

/// A `bridge` step's two sides: the brokers but `middle`, split in two
/// halves (with 3 nodes, one each) that lose each other while every one still
/// reaches `middle`, Redis and the clients.
pub fn bridge_sides(middle: u64, nodes: u64) -> (Vec<String>, Vec<String>) {
    let others: Vec<String> = (1..=nodes)
        .filter(|&n| n != middle)
        .map(net::address)
        .collect();
    let (a, b) = others.split_at(others.len().div_ceil(2));
    (a.to_vec(), b.to_vec())
}

/// The fault injector of one run.
#[derive(Debug, Clone)]
pub struct Nemesis {
    pub net: Arc<Net>,
    pub procs: Arc<Mutex<Procs>>,
    pub recorder: Arc<Recorder>,
}

impl Nemesis {
    fn with_procs<T>(&self, f: impl FnOnce(&mut Procs) -> Result<T>) -> Result<T> {
        let mut procs = self
            .procs
            .lock()
            .map_err(|_| anyhow::anyhow!("process table poisoned"))?;
        f(&mut procs)
    }

    fn event(&self, f: Op, step: &Step) {
        let mut event = Event::nemesis(0, f, step.fault.name());
        event.node = step.node;
        self.recorder.record(event);
    }

    /// Runs `steps`, timed from now.
    pub async fn run(&self, steps: &[Step]) -> Result<()> {
        let begin = tokio::time::Instant::now();
        let mut pullers = Vec::new();
        for step in steps {
            tokio::time::sleep_until(begin + Duration::from_millis(step.at_ms)).await;
            if step.fault == Fault::Member {
                crate::membership::cycle(&self.net, &self.procs, &self.recorder, step).await?;
                continue;
            }
            if step.fault == Fault::Wipe {
                self.wait_voters_whole(step.node.unwrap_or(1)).await;
            }
            self.event(Op::Start, step);
            self.apply(step)?;
            tokio::time::sleep(Duration::from_millis(step.duration_ms)).await;
            self.undo(step)?;
            if matches!(step.fault, Fault::Kill | Fault::KillSplit | Fault::Skew) {
                pullers.extend(self.pull_at_once(step.node.unwrap_or(1)));
            }
            if step.fault == Fault::KillSplit {
                tokio::time::sleep(RESTART_CUT).await;
                self.net.heal()?;
            }
            self.event(Op::Stop, step);
        }
        for puller in pullers {
            let _ = puller.await;
        }
        Ok(())
    }

    /// Clients that reach a restarted node the moment it is back: a puller
    /// of each shared subscription, pausing [`AT_ONCE_RETRY`] after a failed
    /// pull, for [`AT_ONCE_FOR`]. A node serving before it has caught up
    /// with the metadata (`serve-before-catch-up`) meets them in its first
    /// milliseconds, besides the workload's own pullers of that node, which
    /// pause 200 ms after each failure while it was down.
    fn pull_at_once(&self, node: u64) -> Vec<tokio::task::JoinHandle<Result<()>>> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut pullers = Vec::new();
        for pair in SHARED {
            match Consumer::new(self.recorder.clone(), node, pair, false) {
                Ok(consumer) => pullers.push(tokio::spawn(
                    consumer
                        .until(stop.clone())
                        .retrying_after(AT_ONCE_RETRY)
                        .run(),
                )),
                Err(error) => eprintln!("  no puller at node {node} after its restart: {error}"),
            }
        }
        pullers.push(tokio::spawn(async move {
            tokio::time::sleep(AT_ONCE_FOR).await;
            stop.store(true, Ordering::Relaxed);
            Ok(())
        }));
        pullers
    }

    /// Before a wipe: waits (at most [`WHOLE_WITHIN`]) until a node other
    /// than `node` reports every broker a voter and no learner, so the
    /// previously wiped node has caught up and been promoted. A second disk
    /// lost while the first wiped voter is still a learner leaves two voters
    /// of which one is empty: beyond what three voters survive (a majority of
    /// disks must outlive every fault, docs/cluster.md), and the metadata
    /// group cannot recover from it on its own.
    async fn wait_voters_whole(&self, node: u64) {
        let brokers = self.net.brokers().len();
        let deadline = tokio::time::Instant::now() + WHOLE_WITHIN;
        loop {
            for other in (1..=brokers as u64).filter(|&n| n != node) {
                let url = format!("http://{}:{CLIENT_PORT}", net::address(other));
                let Ok(client) = api::Client::new(&url, Duration::from_secs(2)) else {
                    continue;
                };
                if let Ok(status) = client.cluster_status().await {
                    let view = ClusterView::from(&status);
                    if view.learners.is_empty() && view.voters.len() == brokers {
                        return;
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                eprintln!(
                    "  wipe: the voters were not whole within {WHOLE_WITHIN:?}; wiping anyway"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn others(&self, node: u64) -> Vec<String> {
        let me = net::address(node);
        self.net
            .brokers()
            .into_iter()
            .filter(|a| *a != me)
            .collect()
    }

    fn apply(&self, step: &Step) -> Result<()> {
        let node = step.node.unwrap_or(1);
        match step.fault {
            Fault::Kill | Fault::KillSplit => self.with_procs(|p| p.signal(node, "KILL")),
            Fault::Pause => self.with_procs(|p| p.signal(node, "STOP")),
            Fault::Isolate => {
                let mut everyone = self.others(node);
                everyone.extend([REDIS.to_owned(), HARNESS.to_owned()]);
                self.net.cut(&[net::address(node)], &everyone)
            }
            Fault::BrokersSplit => self.net.cut(&[net::address(node)], &self.others(node)),
            Fault::Bridge => {
                let (a, b) = bridge_sides(node, self.net.brokers().len() as u64);
                self.net.cut(&a, &b)
            }
            Fault::RedisCut => self.net.cut(&self.net.brokers(), &[REDIS.to_owned()]),
            Fault::Loss => self.net.lose(20),
            Fault::Wipe => self.with_procs(|p| {
                p.signal(node, "KILL")?;
                let _ = std::fs::remove_dir_all(p.data_dir(node));
                Ok(())
            }),
            Fault::Skew => self.with_procs(|p| {
                p.signal(node, "KILL")?;
                let offset = skew_millis(step).to_string();
                p.start_with(node, &[(CLOCK_OFFSET.to_owned(), offset)])
            }),
            Fault::RedisFailover => self.with_procs(|p| crate::failover::apply(p, node)),
            // A cycle of its own, with waits: `run` hands it to `membership`.
            Fault::Member => Ok(()),
        }
    }

    fn undo(&self, step: &Step) -> Result<()> {
        let node = step.node.unwrap_or(1);
        match step.fault {
            Fault::Kill | Fault::Wipe => self.with_procs(|p| p.start(node)),
            // Cut before it starts, so it never hears the leader before the heal.
            Fault::KillSplit => {
                self.net.cut(&[net::address(node)], &self.others(node))?;
                self.with_procs(|p| p.start(node))
            }
            Fault::Skew => self.with_procs(|p| {
                p.signal(node, "KILL")?;
                p.start(node)
            }),
            Fault::Pause => self.with_procs(|p| p.signal(node, "CONT")),
            Fault::Isolate
            | Fault::BrokersSplit
            | Fault::RedisCut
            | Fault::Loss
            | Fault::Bridge => self.net.heal(),
            Fault::RedisFailover => self.with_procs(crate::failover::undo),
            Fault::Member => Ok(()),
        }
    }

    /// Undoes every fault: no rules, every node running and not stopped.
    pub fn heal(&self, nodes: u64) -> Result<()> {
        self.net.heal()?;
        self.with_procs(crate::failover::heal)?;
        self.with_procs(|p| {
            p.signal_all("CONT")?;
            for node in 1..=nodes {
                if !p.is_running(node) {
                    p.start(node)?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test_log::test]
    fn a_bridge_cuts_the_others_from_each_other_and_spares_the_middle() {
        assert_eq!(
            bridge_sides(2, 3),
            (vec![net::address(1)], vec![net::address(3)])
        );
        let (a, b) = bridge_sides(1, 5);
        assert_eq!(a, [net::address(2), net::address(3)]);
        assert_eq!(b, [net::address(4), net::address(5)]);
    }
}

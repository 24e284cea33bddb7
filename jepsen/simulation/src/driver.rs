//! One seeded run: start the group, bootstrap the metadata, then step
//! (action, simulated time passes, every invariant checked), heal, wait for
//! the nodes to converge, and check what must hold at the end.
//!
//! Everything runs on one Tokio thread with a paused clock (time jumps to
//! the next timer when every task waits), and every random choice (the
//! actions, the network's latency and loss, openraft's election timeouts)
//! comes from the seed, so a seed replays exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use cluster::Command;
use openraft::ServerState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::actions::{self, Action};
use crate::breaks::Break;
use crate::invariants::{Checker, Violation};
use crate::trace::Trace;
use crate::types::{NodeId, SimRuntime};
use crate::world::{Proposed, World, lock};

/// What one run is.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub seed: u64,
    pub breaks: Option<Break>,
    pub steps: u32,
    pub nodes: u64,
    /// Every message's fate as a line of the trace, and the whole trace kept.
    pub detail: bool,
}

/// A run that kept every invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub trace_hash: u64,
    /// The last steps of the trace.
    pub tail: String,
    pub acked: usize,
    pub writes: BTreeMap<&'static str, usize>,
}

/// A run that broke one.
#[derive(Debug)]
pub struct Failure {
    pub violation: Violation,
    pub trace: String,
}

/// Runs one seed. Run it on a current-thread Tokio runtime with a paused
/// clock (`start_paused`), one per seed: that, and the seed, make it replay.
pub async fn run(settings: Settings) -> Result<Report, Failure> {
    SimRuntime::scope(settings.seed, Sim::new(settings).run()).await
}

struct Sim {
    settings: Settings,
    world: World,
    checker: Checker,
    trace: Trace,
    rng: StdRng,
    started: tokio::time::Instant,
    /// Steps each node has been unreachable (down or cut from the majority).
    silent: BTreeMap<NodeId, u32>,
    /// Nodes the liveness task proposed down.
    marked_down: BTreeSet<NodeId>,
    next_value: u64,
    acked: usize,
    writes: BTreeMap<&'static str, usize>,
}

impl Sim {
    fn new(settings: Settings) -> Sim {
        Sim {
            world: World::new(settings.seed, settings.nodes, settings.breaks),
            checker: Checker::default(),
            trace: Trace::new(settings.detail),
            rng: StdRng::seed_from_u64(settings.seed),
            started: tokio::time::Instant::now(),
            silent: BTreeMap::new(),
            marked_down: BTreeSet::new(),
            next_value: 0,
            acked: 0,
            writes: BTreeMap::new(),
            settings,
        }
    }

    fn fail(&self, violation: Violation) -> Failure {
        Failure {
            violation,
            trace: self.trace.tail(),
        }
    }

    async fn run(mut self) -> Result<Report, Failure> {
        let ids: Vec<NodeId> = self.world.ids.iter().copied().collect();
        for id in &ids {
            self.checker.restarted(*id);
            self.world
                .start(*id)
                .await
                .map_err(|e| self.fail(setup(e)))?;
        }
        self.world
            .initialize()
            .await
            .map_err(|e| self.fail(setup(e)))?;
        self.settle("form").await?;
        let leader = self.leader().unwrap_or(ids[0]);
        for id in &ids {
            let register = Command::RegisterNode {
                id: *id,
                peer_addr: format!("n{id}"),
            };
            self.world.propose(leader, register);
        }
        self.world
            .propose(leader, actions::create_topic(actions::topic(0), 6, 0));
        self.world
            .propose(leader, actions::create_topic(actions::topic(1), 3, 0));
        self.settle("bootstrap").await?;

        for step in 0..self.settings.steps {
            let down: Vec<NodeId> = ids
                .iter()
                .filter(|id| !self.world.nodes.contains_key(id))
                .copied()
                .collect();
            let at_millis = self.now_millis();
            let action = actions::pick(&mut self.rng, &ids, &down, at_millis);
            let result = self.act(&action).await?;
            let pause = self.rng.random_range(20..200);
            self.advance(Duration::from_millis(pause)).await?;
            self.liveness(&ids);
            self.record(format!("{step} {action} -> {result}"));
        }

        self.record("heal".to_owned());
        self.world.net.heal();
        for id in &ids {
            if !self.world.nodes.contains_key(id) {
                self.act(&Action::Restart(*id)).await?;
            }
        }
        self.settle("heal").await?;
        if let Some(leader) = self.leader() {
            for id in std::mem::take(&mut self.marked_down) {
                self.world
                    .propose(leader, Command::SetNodeLive { id, live: true });
            }
            self.world.propose(leader, Command::Rebalance);
        }
        self.settle("after heal").await?;
        if !self.converged() {
            return Err(self.fail(Violation {
                invariant: "heal",
                detail: "the nodes did not converge within 10 s of the heal".to_owned(),
            }));
        }
        self.checker.all_acked_applied().map_err(|v| self.fail(v))?;
        Ok(Report {
            trace_hash: self.trace.hash(),
            tail: self.trace.tail(),
            acked: self.acked,
            writes: self.writes,
        })
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn act(&mut self, action: &Action) -> Result<String, Failure> {
        // What the nodes did so far is checked before a node stops or starts.
        self.check()?;
        Ok(match action {
            Action::Propose { entry, command } => {
                self.world.propose(*entry, command.clone());
                "proposed".to_owned()
            }
            Action::Write {
                entry,
                topic,
                partition,
            } => {
                self.next_value += 1;
                let outcome = self
                    .world
                    .routed_write(*entry, topic, *partition, self.next_value)
                    .await;
                *self.writes.entry(outcome).or_default() += 1;
                outcome.to_owned()
            }
            Action::Crash(id) => {
                self.world.crash(*id).await;
                "crashed".to_owned()
            }
            Action::Restart(id) => {
                self.checker.restarted(*id);
                match self.world.start(*id).await {
                    Ok(()) => "restarted".to_owned(),
                    Err(e) => e,
                }
            }
            Action::Isolate(id) => {
                // One partition at a time: the new one replaces the last.
                self.world.net.heal();
                self.world
                    .net
                    .split(&BTreeSet::from([*id]), &self.world.ids);
                "isolated".to_owned()
            }
            Action::Loss(percent) => {
                self.world.net.set_loss(*percent);
                "lossy".to_owned()
            }
            Action::Heal => {
                self.world.net.heal();
                "healed".to_owned()
            }
            Action::Wait => "waited".to_owned(),
        })
    }

    /// Lets `pause` of simulated time pass, then claims and checks.
    async fn advance(&mut self, pause: Duration) -> Result<(), Failure> {
        tokio::time::sleep(pause).await;
        self.world.claim_gained();
        self.check()
    }

    /// Up to 10 s of simulated time, until one leader leads every node and
    /// every node applied the same index; checked every 100 ms.
    async fn settle(&mut self, phase: &str) -> Result<(), Failure> {
        for _ in 0..100 {
            self.advance(Duration::from_millis(100)).await?;
            if self.converged() && self.world.pending.load(Ordering::SeqCst) == 0 {
                break;
            }
        }
        self.record(format!("settled after {phase}"));
        Ok(())
    }

    fn leader(&self) -> Option<NodeId> {
        let metrics = self.world.metrics();
        metrics
            .iter()
            .find(|(_, m)| m.state == ServerState::Leader)
            .map(|(id, _)| *id)
    }

    fn converged(&self) -> bool {
        let metrics = self.world.metrics();
        let applied: BTreeSet<_> = metrics.values().map(|m| m.last_applied).collect();
        let leaders: BTreeSet<_> = metrics.values().map(|m| m.current_leader).collect();
        metrics.len() == self.world.ids.len()
            && applied.len() == 1
            && leaders.len() == 1
            && leaders.first().is_some_and(Option::is_some)
    }

    /// What the leader's liveness task does: a node unreachable for three
    /// steps is proposed down (its partitions move), and live again once it
    /// is back for two.
    fn liveness(&mut self, ids: &[NodeId]) {
        let reachable = |a: NodeId| {
            self.world.nodes.contains_key(&a)
                && ids
                    .iter()
                    .filter(|b| **b != a && self.world.net.connected(a, **b))
                    .count()
                    * 2
                    >= ids.len() - 1
        };
        let mut down = Vec::new();
        let mut back = Vec::new();
        for id in ids {
            let silent = self.silent.entry(*id).or_default();
            if reachable(*id) {
                *silent = 0;
                if self.marked_down.contains(id) {
                    back.push(*id);
                }
            } else {
                *silent += 1;
                if *silent >= 3 && !self.marked_down.contains(id) {
                    down.push(*id);
                }
            }
        }
        let Some(entry) = ids.iter().copied().find(|id| reachable(*id)) else {
            return;
        };
        for id in down {
            self.marked_down.insert(id);
            self.world
                .propose(entry, Command::SetNodeLive { id, live: false });
        }
        for id in back {
            self.marked_down.remove(&id);
            self.world
                .propose(entry, Command::SetNodeLive { id, live: true });
            self.world.propose(entry, Command::Rebalance);
        }
    }

    /// Every invariant over what happened since the last check.
    fn check(&mut self) -> Result<(), Failure> {
        self.check_all().map_err(|v| self.fail(v))
    }

    fn check_all(&mut self) -> Result<(), Violation> {
        for (id, m) in self.world.metrics() {
            if let Err(fatal) = &m.running_state {
                return Err(Violation {
                    invariant: "raft-running",
                    detail: format!("node {id}'s Raft stopped: {fatal}"),
                });
            }
            if m.state == ServerState::Leader {
                self.checker.leader(m.current_term, id)?;
            }
        }
        for applied in std::mem::take(&mut *lock(&self.world.sink)) {
            self.checker.applied(&applied)?;
        }
        for (id, node) in &self.world.nodes {
            node.view
                .read(|index, metadata| self.checker.placement(*id, index, metadata))?;
        }
        for write in std::mem::take(&mut lock(&self.world.store).writes) {
            self.checker.store_write(&write)?;
        }
        for proposed in std::mem::take(&mut *lock(&self.world.proposals)) {
            if let Proposed::Acked { index, entry } = proposed {
                self.acked += 1;
                self.checker.acked(index, entry)?;
            }
        }
        Ok(())
    }

    fn record(&mut self, what: String) {
        for fate in self.world.net.take_fates() {
            self.trace.fate(&fate);
        }
        let metrics = self.world.metrics();
        let nodes: Vec<String> = self
            .world
            .ids
            .iter()
            .map(|id| match metrics.get(id) {
                Some(m) => format!(
                    "{id}:{:?}/t{}/a{}",
                    m.state,
                    m.current_term,
                    m.last_applied.map_or(0, |l| l.index)
                ),
                None => format!("{id}:down"),
            })
            .collect();
        let line = format!(
            "{:>6}ms {what} | {} | {} | stored={}",
            self.now_millis(),
            nodes.join(" "),
            self.world.net.describe(),
            lock(&self.world.store).values_stored()
        );
        self.trace.push(line);
    }
}

fn setup(reason: String) -> Violation {
    Violation {
        invariant: "setup",
        detail: reason,
    }
}

//! [`MoveJournal`]: the partition owner changes this node applied, and when.
//!
//! Every node keeps one, following the applied metadata. It answers two
//! questions: what moved lately (`GET /v1/cluster`'s `rebalance`), and, on the
//! leader, whether a partition changed owner less than the cool-down ago (the
//! automatic rebalance leaves it alone then). Times are this node's own
//! monotonic clock at apply, never a value in the metadata, so `apply` stays
//! pure and the Raft log unchanged.
//!
//! A partition is first seen either at start (its last move is unknown) or
//! when its topic is created; both count as "changed now", so a node that
//! starts, or becomes leader right after a start, waits a full cool-down
//! before it moves anything: the cool-down holds across restarts and
//! leadership changes without being replicated.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use api::types::{PendingMoveStatus, RebalanceStatus, RecentMoveStatus};
use cluster::{Epoch, Metadata, NodeId, TopicName};
use raft::Consensus;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::rebalance::RebalanceSettings;

/// How many owner changes the status keeps.
const RECENT_MOVES: usize = 1_000;

/// Owner changes seen on this node, with the settings they are judged by.
#[derive(Debug)]
pub struct MoveJournal {
    settings: RebalanceSettings,
    state: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The placement's last epoch at the previous look; `None` before it.
    last_epoch: Option<Epoch>,
    /// Each partition's owner and epoch, and when this node saw them begin.
    owners: HashMap<(TopicName, u32), (NodeId, Epoch, Instant)>,
    recent: VecDeque<RecentMoveStatus>,
}

impl MoveJournal {
    pub fn new(settings: RebalanceSettings) -> Self {
        Self {
            settings,
            state: Mutex::default(),
        }
    }

    pub fn settings(&self) -> RebalanceSettings {
        self.settings
    }

    /// Follows the applied metadata until `shutdown`.
    pub async fn run(self: Arc<Self>, consensus: Consensus, shutdown: CancellationToken) {
        let mut changes = consensus.changes();
        loop {
            changes.borrow_and_update();
            consensus.read_local(|md| self.observe(md));
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Records the owner changes in `md` since the last look. Cheap when no
    /// owner changed (the placement's last epoch is the same).
    pub fn observe(&self, md: &Metadata) {
        let placement = md.placement();
        let mut seen = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if seen.last_epoch == Some(placement.last_epoch()) {
            return;
        }
        let first = seen.last_epoch.is_none();
        seen.last_epoch = Some(placement.last_epoch());
        let now = Instant::now();
        let at_millis = unix_millis();
        let mut owners = HashMap::with_capacity(seen.owners.len());
        let mut moved = Vec::new();
        for (topic, slots) in placement.owners() {
            for (partition, owner) in slots.iter().enumerate() {
                let Some(owner) = owner else { continue };
                let key = (topic.clone(), partition as u32);
                let entry = match seen.owners.get(&key) {
                    Some(&(node, epoch, since)) if epoch == owner.epoch => (node, epoch, since),
                    before => {
                        if let Some(&(from, _, _)) = before.filter(|_| !first) {
                            moved.push(RecentMoveStatus {
                                topic: topic.to_string(),
                                partition: key.1,
                                from: Some(from.get()),
                                to: owner.node.get(),
                                epoch: owner.epoch.get(),
                                at_millis,
                            });
                        }
                        (owner.node, owner.epoch, now)
                    }
                };
                owners.insert(key, entry);
            }
        }
        moved.sort_by_key(|m| m.epoch);
        seen.owners = owners;
        seen.recent.extend(moved);
        let excess = seen.recent.len().saturating_sub(RECENT_MOVES);
        seen.recent.drain(..excess);
    }

    /// Whether the partition changed owner (or was first seen) less than the
    /// cool-down before `now`; unknown partitions count as cooling down.
    pub fn cooling(&self, topic: &TopicName, partition: u32, now: Instant) -> bool {
        let seen = self.state.lock().unwrap_or_else(|p| p.into_inner());
        seen.owners
            .get(&(topic.clone(), partition))
            .is_none_or(|&(_, _, since)| now.duration_since(since) < self.settings.cooldown)
    }

    /// What is moving, as `md` and this journal say.
    pub fn status(&self, md: &Metadata) -> RebalanceStatus {
        let now = Instant::now();
        let pending = md
            .placement()
            .misplaced()
            .into_iter()
            .map(|m| PendingMoveStatus {
                cooling_down: self.cooling(&m.topic, m.partition, now),
                from: md
                    .placement()
                    .owner(&m.topic, m.partition)
                    .map_or(0, |o| o.node.get()),
                topic: m.topic.to_string(),
                partition: m.partition,
                to: m.to.get(),
            })
            .collect();
        let recent_moves = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recent
            .iter()
            .cloned()
            .collect();
        RebalanceStatus {
            auto: self.settings.auto,
            moves_per_second: self.settings.moves_per_second,
            cooldown_seconds: self.settings.cooldown.as_secs(),
            pending,
            recent_moves,
        }
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

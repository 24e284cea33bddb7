//! The seeded choice of what happens next: client work (proposals, routed
//! writes) and faults (crash, restart, isolate, message loss, heal).

use std::fmt;

use cluster::{Command, NodeId, TopicConfig, TopicName};
use rand::Rng;
use rand::rngs::StdRng;

/// The topics proposals and writes use; two exist from the start.
pub const TOPICS: [&str; 4] = ["t-a", "t-b", "t-c", "t-d"];

pub fn topic(i: usize) -> TopicName {
    TopicName::new(TOPICS[i % TOPICS.len()]).expect("a valid topic name")
}

pub fn create_topic(name: TopicName, partitions: u32, at_millis: u64) -> Command {
    Command::CreateTopic {
        name,
        config: TopicConfig {
            partitions,
            ..TopicConfig::default()
        },
        at_millis,
    }
}

/// One step's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Propose {
        entry: NodeId,
        command: Command,
    },
    Write {
        entry: NodeId,
        topic: TopicName,
        partition: u32,
    },
    Crash(NodeId),
    Restart(NodeId),
    Isolate(NodeId),
    Loss(u32),
    Heal,
    Wait,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Propose { entry, command } => write!(f, "propose {command} at {entry}"),
            Action::Write {
                entry,
                topic,
                partition,
            } => write!(f, "write {topic}/{partition} at {entry}"),
            Action::Crash(id) => write!(f, "crash {id}"),
            Action::Restart(id) => write!(f, "restart {id}"),
            Action::Isolate(id) => write!(f, "isolate {id}"),
            Action::Loss(percent) => write!(f, "loss {percent}%"),
            Action::Heal => f.write_str("heal"),
            Action::Wait => f.write_str("wait"),
        }
    }
}

/// Picks the next action; `down` are the crashed nodes.
pub fn pick(rng: &mut StdRng, ids: &[NodeId], down: &[NodeId], at_millis: u64) -> Action {
    let any = |rng: &mut StdRng| ids[rng.random_range(0..ids.len())];
    match rng.random_range(0..100) {
        0..30 => {
            let entry = any(rng);
            let command = match rng.random_range(0..6) {
                0 | 1 => create_topic(
                    topic(2 + rng.random_range(0..2)),
                    rng.random_range(1..7),
                    at_millis,
                ),
                2 => Command::DeleteTopic {
                    name: topic(2 + rng.random_range(0..2)),
                },
                3 => Command::Rebalance,
                4 => Command::SetNodeLive {
                    id: any(rng),
                    live: true,
                },
                _ => {
                    let id = any(rng);
                    Command::RegisterNode {
                        id,
                        peer_addr: format!("n{id}"),
                    }
                }
            };
            Action::Propose { entry, command }
        }
        30..65 => Action::Write {
            entry: any(rng),
            // Mostly the two topics that exist from the start.
            topic: topic(if rng.random_bool(0.8) {
                rng.random_range(0..2)
            } else {
                rng.random_range(2..TOPICS.len())
            }),
            partition: rng.random_range(0..6),
        },
        // Mostly at most a minority down; now and then one more.
        65..74
            if down.len() < ids.len() / 2
                || (down.len() + 1 < ids.len() && rng.random_bool(0.25)) =>
        {
            let up: Vec<NodeId> = ids.iter().filter(|i| !down.contains(i)).copied().collect();
            Action::Crash(up[rng.random_range(0..up.len())])
        }
        74..84 if !down.is_empty() => Action::Restart(down[rng.random_range(0..down.len())]),
        84..90 => Action::Isolate(any(rng)),
        90..94 => Action::Loss(rng.random_range(5..35)),
        94..98 => Action::Heal,
        _ => Action::Wait,
    }
}

//! [`Trace`]: one line per step (the action, its result, each node's role,
//! term and applied index, the network's faults), and every message's fate
//! (when it was sent, between which nodes, its latency, whether it was
//! dropped) in the order the messages were sent. Its hash covers both and is
//! what the determinism tests compare; its tail is what a failure prints.
//! In detail (`SIM_DETAIL`), the fates are lines too and the whole trace is
//! kept, so two runs' traces can be diffed to the first message that differs.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::network::Fate;

/// How many of the last lines a failure prints.
const TAIL: usize = 40;

#[derive(Debug, Default)]
pub struct Trace {
    hasher: DefaultHasher,
    tail: VecDeque<String>,
    detail: bool,
}

impl Trace {
    /// With `detail`, every fate is a line and no line is dropped.
    pub fn new(detail: bool) -> Trace {
        Trace {
            detail,
            ..Trace::default()
        }
    }

    pub fn push(&mut self, line: String) {
        line.hash(&mut self.hasher);
        if self.tail.len() == TAIL && !self.detail {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// A message's fate: in the hash always, a line only in detail.
    pub fn fate(&mut self, fate: &Fate) {
        fate.hash(&mut self.hasher);
        if self.detail {
            let (at, from, to, latency, why) = fate;
            self.tail.push_back(format!(
                "  {at:>9}us {from}->{to} +{latency}us {}",
                why.unwrap_or("delivered")
            ));
        }
    }

    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    pub fn tail(&self) -> String {
        self.tail.iter().map(|l| format!("  {l}\n")).collect()
    }
}

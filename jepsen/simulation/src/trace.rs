//! [`Trace`]: one line per step (the action, its result, each node's role,
//! term and applied index, the network's faults). Its hash is what the
//! determinism test compares; its tail is what a failure prints.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};

/// How many of the last lines a failure prints.
const TAIL: usize = 40;

#[derive(Debug, Default)]
pub struct Trace {
    hasher: DefaultHasher,
    tail: VecDeque<String>,
}

impl Trace {
    pub fn push(&mut self, line: String) {
        line.hash(&mut self.hasher);
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    pub fn tail(&self) -> String {
        self.tail.iter().map(|l| format!("  {l}\n")).collect()
    }
}

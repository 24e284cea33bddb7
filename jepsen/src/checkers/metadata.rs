//! `linearizable-metadata`: each topic name is a register whose value is
//! "exists" or "absent", written by creates and deletes (both committed
//! through the metadata group) and read by their answers and by reads that
//! find nothing; the history of each name must have a linearization.
//!
//! What each completion says about the register:
//!
//! | operation | `ok` | `fail` | `info` (unknown) |
//! |---|---|---|---|
//! | create | was absent, now exists | `ALREADY_EXISTS`: exists; else nothing | may have created it, at any time after the invocation |
//! | delete | now absent | `NOT_FOUND`: absent; else nothing | may have deleted it |
//! | read | nothing (see below) | `NOT_FOUND`: absent; else nothing | nothing |
//!
//! A read that finds the topic is answered from the node's applied metadata
//! without a round trip (`MetadataView::fresh` in the broker), which the
//! broker does not promise to be linearizable; a not-found answer it does
//! promise (a read index first), so only those are checked.
//!
//! The search is Wing and Gong's, with Lowe's memoization (what Porcupine
//! does): linearize, one at a time, an operation invoked before every
//! pending operation's completion, remembering (linearized set, value)
//! pairs already explored. Operations of unknown outcome never complete, so
//! they may be linearized late or left out.

use std::collections::{BTreeMap, HashSet};

use crate::checkers::Outcome;
use crate::history::{Event, History, Kind, Op};

/// Most states one name's search explores before it gives up (counted as
/// `undecided`, not as a violation).
const SEARCH_LIMIT: usize = 200_000;

/// What one operation does to the register, if linearized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Requires absent; leaves it existing.
    Create,
    /// Leaves it absent, whatever it was.
    Delete,
    /// Requires the value; changes nothing.
    Observe(bool),
}

impl Effect {
    /// The value after this effect from `exists`, or `None` if it cannot apply.
    fn apply(self, exists: bool) -> Option<bool> {
        match self {
            Effect::Create => (!exists).then_some(true),
            Effect::Delete => Some(false),
            Effect::Observe(value) => (value == exists).then_some(exists),
        }
    }
}

/// One operation on one name: its effect, when it was invoked and completed
/// (an index in the history), and whether it must be linearized.
#[derive(Debug, Clone)]
struct Call {
    effect: Effect,
    invoked: usize,
    /// `None`: the outcome is unknown; it may take effect any time after.
    completed: Option<usize>,
    time: u64,
}

impl Call {
    fn required(&self) -> bool {
        self.completed.is_some()
    }
}

/// `linearizable-metadata` over every name the history creates, deletes or reads.
pub fn linearizable_metadata(history: &History) -> Outcome {
    let mut outcome = Outcome::new("linearizable-metadata");
    for (name, calls) in calls_by_name(history) {
        outcome.count("names", 1);
        outcome.count("operations", calls.len() as u64);
        match linearizable(&calls) {
            Some(true) => {}
            Some(false) => outcome.violation(describe(name, &calls, stuck_at(&calls))),
            None => outcome.count("undecided", 1),
        }
    }
    outcome
}

/// Each name's operations, from invocations paired with their process's
/// next completion.
fn calls_by_name(history: &History) -> BTreeMap<&str, Vec<Call>> {
    let mut open: BTreeMap<u64, (usize, &Event)> = BTreeMap::new();
    let mut calls: BTreeMap<&str, Vec<Call>> = BTreeMap::new();
    let metadata = |f: Op| matches!(f, Op::Create | Op::Delete | Op::Read);
    for (index, event) in history.events.iter().enumerate() {
        if !metadata(event.f) {
            continue;
        }
        if event.kind == Kind::Invoke {
            open.insert(event.process, (index, event));
            continue;
        }
        let Some((invoked, invoke)) = open.remove(&event.process) else {
            continue;
        };
        let Some(name) = invoke.topic.as_deref() else {
            continue;
        };
        let error = event.error.as_deref().unwrap_or("");
        let effect = match (invoke.f, event.kind) {
            (Op::Create, Kind::Ok | Kind::Info) => Some(Effect::Create),
            (Op::Create, Kind::Fail) if error.contains("ALREADY_EXISTS") => {
                Some(Effect::Observe(true))
            }
            (Op::Delete, Kind::Ok | Kind::Info) => Some(Effect::Delete),
            (Op::Delete | Op::Read, Kind::Fail) if error.contains("NOT_FOUND") => {
                Some(Effect::Observe(false))
            }
            _ => None,
        };
        if let Some(effect) = effect {
            calls.entry(name).or_default().push(Call {
                effect,
                invoked,
                completed: (event.kind != Kind::Info).then_some(index),
                time: event.time,
            });
        }
    }
    // Invocations never completed: unknown outcome.
    for (invoked, invoke) in open.into_values() {
        let Some(name) = invoke.topic.as_deref() else {
            continue;
        };
        let effect = match invoke.f {
            Op::Create => Effect::Create,
            Op::Delete => Effect::Delete,
            _ => continue,
        };
        calls.entry(name).or_default().push(Call {
            effect,
            invoked,
            completed: None,
            time: invoke.time,
        });
    }
    for list in calls.values_mut() {
        list.sort_by_key(|c| c.invoked);
    }
    calls
}

/// Whether `calls` (sorted by invocation) have a linearization from
/// "absent"; `None` when the search hit [`SEARCH_LIMIT`].
fn linearizable(calls: &[Call]) -> Option<bool> {
    let words = calls.len().div_ceil(64).max(1);
    let mut seen: HashSet<(Vec<u64>, bool)> = HashSet::new();
    let mut stack: Vec<(Vec<u64>, bool)> = vec![(vec![0; words], false)];
    let done = |set: &[u64], i: usize| set[i / 64] & (1 << (i % 64)) != 0;
    while let Some((set, exists)) = stack.pop() {
        if !seen.insert((set.clone(), exists)) {
            continue;
        }
        if seen.len() > SEARCH_LIMIT {
            return None;
        }
        let pending: Vec<usize> = (0..calls.len()).filter(|&i| !done(&set, i)).collect();
        if pending.iter().all(|&i| !calls[i].required()) {
            return Some(true);
        }
        // A call may go next only if it was invoked before every pending
        // call's completion (nothing pending finished before it began).
        let horizon = pending
            .iter()
            .filter_map(|&i| calls[i].completed)
            .min()
            .unwrap_or(usize::MAX);
        for &i in &pending {
            let call = &calls[i];
            if call.invoked > horizon {
                break;
            }
            if let Some(next) = call.effect.apply(exists) {
                let mut set = set.clone();
                set[i / 64] |= 1 << (i % 64);
                stack.push((set, next));
            }
        }
    }
    Some(false)
}

/// The first call (by invocation) that no linearization of the calls before
/// it can take: where the history goes wrong. Found by the same search over
/// growing prefixes of the required calls.
fn stuck_at(calls: &[Call]) -> usize {
    let (mut low, mut high) = (0, calls.len());
    // The shortest prefix without a linearization; prefixes only get harder.
    while low < high {
        let mid = (low + high) / 2;
        let prefix = truncated(calls, mid + 1);
        if linearizable(&prefix) == Some(false) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low.min(calls.len().saturating_sub(1))
}

/// The first `n` calls; calls completing after the last of them are cut
/// off too, as if still running (unknown).
fn truncated(calls: &[Call], n: usize) -> Vec<Call> {
    let last = calls.get(n.saturating_sub(1)).map_or(0, |c| c.invoked);
    calls[..n.min(calls.len())]
        .iter()
        .map(|c| Call {
            completed: c
                .completed
                .filter(|&done| done <= last || c.invoked == last),
            ..c.clone()
        })
        .collect()
}

fn describe(name: &str, calls: &[Call], stuck: usize) -> String {
    let from = stuck.saturating_sub(5);
    let story: Vec<String> = calls[from..=stuck.min(calls.len() - 1)]
        .iter()
        .map(|c| {
            let what = match c.effect {
                Effect::Create => "create",
                Effect::Delete => "delete",
                Effect::Observe(true) => "saw it exist",
                Effect::Observe(false) => "saw it absent",
            };
            let when = if c.required() { "" } else { "?" };
            format!("{what}{when}@{}ms", c.time)
        })
        .collect();
    format!(
        "{name}: no linearization of its {} operations; it breaks at the last of: {}",
        calls.len(),
        story.join(", "),
    )
}

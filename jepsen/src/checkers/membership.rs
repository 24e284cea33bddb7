//! Membership change under load (the `member` fault, `membership.rs`): over
//! the `cluster` observations the history holds, per scale-out/scale-in
//! cycle (a `member` start to its stop):
//!
//! - `member-learner`: a voter listed the member as a learner, and no node
//!   ever listed it as a voter (nor did it call itself leader, follower
//!   or candidate);
//! - `member-got-partitions`: some view gave it partitions (the automatic
//!   rebalance's share);
//! - `member-drained`: after SIGTERM it exited by itself, with success,
//!   within the bound;
//! - `member-left`: each voter's last view of the cycle no longer knows it
//!   (not a voter, not a learner, not a placement node);
//! - `member-partitions-back`: and has every partition on a live node other
//!   than it.

use std::collections::BTreeMap;

use crate::checkers::Outcome;
use crate::cluster_view::ClusterView;
use crate::history::{History, Kind, Op};
use crate::scenario::Fault;

/// One cycle: the member's id, the start and stop times, the stop's error.
struct Cycle<'a> {
    id: u64,
    start: u64,
    stop: Option<(u64, Option<&'a str>)>,
}

fn cycles(history: &History) -> Vec<Cycle<'_>> {
    let mut cycles: Vec<Cycle<'_>> = Vec::new();
    let member = |e: &crate::history::Event| {
        e.kind == Kind::Nemesis && e.nemesis.as_deref() == Some(Fault::Member.name())
    };
    for e in history.events.iter().filter(|e| member(e)) {
        let Some(id) = e.node else { continue };
        match e.f {
            Op::Start => cycles.push(Cycle {
                id,
                start: e.time,
                stop: None,
            }),
            Op::Stop => {
                if let Some(open) = cycles
                    .iter_mut()
                    .rev()
                    .find(|c| c.id == id && c.stop.is_none())
                {
                    open.stop = Some((e.time, e.error.as_deref()));
                }
            }
            _ => {}
        }
    }
    cycles
}

/// The `cluster` observations: (time, asked node, view).
fn views(history: &History) -> Vec<(u64, u64, &ClusterView)> {
    history
        .events
        .iter()
        .filter(|e| e.f == Op::Cluster && e.kind == Kind::Ok)
        .filter_map(|e| Some((e.time, e.node?, e.cluster.as_ref()?)))
        .collect()
}

/// The membership checks; none when the history has no `member` fault.
pub fn membership(history: &History) -> Vec<Outcome> {
    let cycles = cycles(history);
    if cycles.is_empty() {
        return Vec::new();
    }
    let views = views(history);
    let mut learner = Outcome::new("member-learner");
    let mut got = Outcome::new("member-got-partitions");
    let mut drained = Outcome::new("member-drained");
    let mut left = Outcome::new("member-left");
    let mut back = Outcome::new("member-partitions-back");
    for &(time, node, view) in &views {
        for c in cycles.iter().filter(|c| view.voters.contains(&c.id)) {
            learner.violation(format!(
                "node {node} listed member {} as a voter at {time} ms: {:?}",
                c.id, view.voters
            ));
        }
        if let Some(c) = cycles.iter().find(|c| c.id == node)
            && matches!(view.role.as_str(), "leader" | "follower" | "candidate")
        {
            learner.violation(format!(
                "member {} called itself a voter's role, {}, at {time} ms",
                c.id, view.role
            ));
        }
    }
    for c in &cycles {
        let (stop, error) = c
            .stop
            .unwrap_or((u64::MAX, Some("the cycle never stopped")));
        let within: Vec<_> = views
            .iter()
            .filter(|(time, _, _)| (c.start..=stop).contains(time))
            .collect();
        let from_voters = || within.iter().filter(|(_, node, _)| *node < c.id);
        learner.count("cycles", 1);
        learner.count("views", within.len() as u64);
        if !from_voters().any(|(_, _, v)| v.learners.contains(&c.id)) {
            learner.violation(format!(
                "no voter listed member {} as a learner between {} and {stop} ms",
                c.id, c.start
            ));
        }
        let most = within.iter().map(|(_, _, v)| v.owned_by(c.id)).max();
        got.count("most-partitions", most.unwrap_or(0) as u64);
        if most.unwrap_or(0) == 0 {
            got.violation(format!(
                "member {} owned no partition in any view between {} and {stop} ms",
                c.id, c.start
            ));
        }
        match error {
            None => drained.count("drained", 1),
            Some(error) => drained.violation(format!("member {} at {stop} ms: {error}", c.id)),
        }
        let mut last: BTreeMap<u64, (u64, &ClusterView)> = BTreeMap::new();
        for &&(time, node, view) in from_voters() {
            last.insert(node, (time, view));
        }
        if last.is_empty() {
            left.violation(format!("no voter observed in cycle {} ms", c.start));
        }
        for (node, (time, view)) in last {
            left.count("voters-checked", 1);
            if view.knows(c.id) {
                left.violation(format!(
                    "node {node} still knew member {} at {time} ms (voters {:?}, learners {:?})",
                    c.id, view.voters, view.learners
                ));
            }
            let misplaced = view.misplaced(c.id);
            back.count("partitions", view.owners.len() as u64);
            if !misplaced.is_empty() {
                back.violation(format!(
                    "node {node} at {time} ms: {} partitions not on a live voter, e.g. {}",
                    misplaced.len(),
                    misplaced[0]
                ));
            }
        }
    }
    vec![learner, got, drained, left, back]
}

//! The membership checks fed a good cycle (every one passes) and cycles each
//! broken in one way (the matching check fails, naming it).

use crate::checkers::{Outcome, membership};
use crate::cluster_view::{ClusterView, NodeView};
use crate::history::{Event, History, Kind, Op};

const MEMBER: u64 = 4;

fn nemesis(time: u64, f: Op, error: Option<&str>) -> Event {
    let mut event = Event::nemesis(time, f, "member");
    event.node = Some(MEMBER);
    event.error = error.map(str::to_owned);
    event
}

fn observed(time: u64, node: u64, view: ClusterView) -> Event {
    let mut event = Event::new(time, 100 + time, Kind::Ok, Op::Cluster);
    event.node = Some(node);
    event.cluster = Some(view);
    event
}

/// A view with `learners`, the placement's `nodes` (all live) and the
/// partitions `p0..` owned by `owners`.
fn view(role: &str, learners: &[u64], nodes: &[u64], owners: &[u64]) -> ClusterView {
    ClusterView {
        role: role.to_owned(),
        voters: vec![1, 2, 3],
        learners: learners.to_vec(),
        nodes: nodes
            .iter()
            .map(|&id| NodeView { id, live: true })
            .collect(),
        owners: owners
            .iter()
            .enumerate()
            .map(|(p, &n)| ("q".to_owned(), p as u32, Some(n)))
            .collect(),
    }
}

/// One good cycle: the member joins as a learner, owns p3, drains, and every
/// voter's last view has forgotten it with the partitions on 1-3.
fn good() -> Vec<Event> {
    let joined = view("follower", &[4], &[1, 2, 3, 4], &[1, 2, 3, 4]);
    let gone = view("follower", &[], &[1, 2, 3], &[1, 2, 3, 1]);
    let mut events = vec![nemesis(100, Op::Start, None)];
    for node in 1..=3 {
        events.push(observed(200 + node, node, joined.clone()));
    }
    events.push(observed(
        210,
        MEMBER,
        view("learner", &[4], &[1, 2, 3, 4], &[1, 2, 3, 4]),
    ));
    for node in 1..=3 {
        events.push(observed(300 + node, node, gone.clone()));
    }
    events.push(nemesis(400, Op::Stop, None));
    events
}

fn check(events: Vec<Event>) -> Vec<Outcome> {
    membership(&History::new(events))
}

fn failed(outcomes: &[Outcome]) -> Vec<&str> {
    outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.property.as_str())
        .collect()
}

#[test_log::test]
fn a_good_cycle_passes_every_check_and_no_cycle_means_no_check() {
    let outcomes = check(good());
    assert_eq!(outcomes.len(), 5);
    assert!(failed(&outcomes).is_empty(), "{outcomes:?}");
    assert_eq!(outcomes[1].get("most-partitions"), 1);
    assert_eq!(outcomes[3].get("voters-checked"), 3);
    assert!(check(vec![observed(1, 1, view("leader", &[], &[1], &[1]))]).is_empty());
}

#[test_log::test]
fn a_member_listed_as_a_voter_or_never_as_a_learner_fails_member_learner() {
    let mut events = good();
    let mut promoted = view("follower", &[], &[1, 2, 3, 4], &[1, 2, 3, 4]);
    promoted.voters.push(MEMBER);
    events.insert(5, observed(250, 2, promoted));
    assert_eq!(failed(&check(events)), ["member-learner"]);

    let mut events = good();
    events[4] = observed(210, MEMBER, view("follower", &[4], &[1, 2, 3, 4], &[1]));
    assert_eq!(failed(&check(events)), ["member-learner"]);

    let events: Vec<_> = good()
        .into_iter()
        .filter(|e| e.cluster.as_ref().is_none_or(|v| v.learners.is_empty()))
        .collect();
    let outcomes = check(events);
    assert!(
        failed(&outcomes).contains(&"member-learner"),
        "{outcomes:?}"
    );
}

#[test_log::test]
fn a_member_never_given_a_partition_fails_member_got_partitions() {
    let events: Vec<_> = good()
        .into_iter()
        .map(|mut e| {
            if let Some(v) = &mut e.cluster {
                for owner in &mut v.owners {
                    if owner.2 == Some(MEMBER) {
                        owner.2 = Some(1);
                    }
                }
            }
            e
        })
        .collect();
    assert_eq!(failed(&check(events)), ["member-got-partitions"]);
}

#[test_log::test]
fn a_member_that_had_to_be_killed_fails_member_drained() {
    let mut events = good();
    let last = events.len() - 1;
    events[last] = nemesis(400, Op::Stop, Some("did not exit within 40 s of SIGTERM"));
    assert_eq!(failed(&check(events)), ["member-drained"]);
    let mut events = good();
    events.pop();
    assert!(failed(&check(events)).contains(&"member-drained"));
}

#[test_log::test]
fn a_voter_still_knowing_the_member_fails_member_left_and_a_partition_left_on_it_fails_back() {
    let mut events = good();
    events[7] = observed(303, 3, view("follower", &[4], &[1, 2, 3], &[1, 2, 3, 1]));
    assert_eq!(failed(&check(events)), ["member-left"]);

    let mut events = good();
    events[6] = observed(302, 2, view("leader", &[], &[1, 2, 3], &[1, 2, 3, 4]));
    assert_eq!(failed(&check(events)), ["member-partitions-back"]);

    let mut events = good();
    let mut down = view("leader", &[], &[1, 2, 3], &[1, 2, 3, 3]);
    down.nodes[2].live = false;
    events[6] = observed(302, 2, down);
    assert_eq!(failed(&check(events)), ["member-partitions-back"]);
}

//! The checkers for a run whose faults are beyond some ack levels' promise
//! (a Redis failover: `leader` and `fsynced` may lose the tail the replica
//! had not received). A lost message there can also show up as its offset
//! reused, an idempotency record gone (a duplicate), a key out of order or a
//! delivery state gone back, so the data properties are asserted over the
//! topics whose level survives, and measured over all topics.
//!
//! - `lost-acked:<level>` and `delivered:<subscription>` are per level
//!   already: asserted for a surviving level, measured for the others.
//! - Properties that do not depend on what Redis keeps (metadata in the Raft
//!   group, group assignments, phantoms, definite failures, recovery) are
//!   asserted over the whole history.
//! - Every other property is asserted over the history without the events of
//!   the measured topics, and measured over the whole history under the name
//!   `<property>:all-levels`.

use std::collections::BTreeSet;

use crate::checkers::{Outcome, Promises, check_all};
use crate::history::History;

/// Asserted over the whole history whatever the ack levels.
const WHOLE: [&str; 5] = [
    "no-phantoms",
    "failed-took-no-effect",
    "group-exclusive",
    "linearizable-metadata",
    "recovery",
];

fn per_level(property: &str) -> bool {
    property.starts_with("lost-acked:") || property.starts_with("delivered:")
}

/// Every checker over `history`, the data properties asserted only over the
/// topics not in `measured` (whose ack levels do not survive the run's
/// faults) and measured over all of them.
pub fn check_by_level(
    history: &History,
    promises: &Promises,
    measured: &BTreeSet<String>,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for mut outcome in check_all(history, promises) {
        if !WHOLE.contains(&outcome.property.as_str()) && !per_level(&outcome.property) {
            outcome.property.push_str(":all-levels");
            outcome.asserted = false;
        }
        outcomes.push(outcome);
    }
    let kept = History::new(
        history
            .events
            .iter()
            .filter(|e| !e.topic.as_ref().is_some_and(|t| measured.contains(t)))
            .cloned()
            .collect(),
    );
    let mut surviving = promises.clone();
    if surviving
        .dead_letter
        .as_ref()
        .is_some_and(|p| measured.contains(&p.topic))
    {
        surviving.dead_letter = None;
    }
    outcomes.extend(
        check_all(&kept, &surviving)
            .into_iter()
            .filter(|o| !WHOLE.contains(&o.property.as_str()) && !per_level(&o.property)),
    );
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Delivery, Event, Kind, Op};

    fn publish(events: &mut Vec<Event>, topic: &str, level: &str, value: &str, offset: u64) {
        let time = events.len() as u64;
        let invoke = Event::publish(time, time + 1, topic, value, level);
        events.push(invoke.clone());
        let mut done = invoke.completed(time, Kind::Ok);
        done.partition = Some(0);
        done.offset = Some(offset);
        events.push(done);
    }

    fn pull(events: &mut Vec<Event>, topic: &str, s: &str, values: &[(&str, u64)]) {
        let time = events.len() as u64;
        let deliveries = values
            .iter()
            .map(|&(value, offset)| Delivery {
                value: value.to_owned(),
                partition: 0,
                offset,
                attempt: 1,
                epoch: Some(1),
                key: None,
            })
            .collect();
        let mut done = Event::pulled(time, 99, s, deliveries);
        done.topic = Some(topic.to_owned());
        let mut invoke = Event::new(time, 99, Kind::Invoke, Op::Pull);
        invoke.subscription = done.subscription.clone();
        invoke.topic = done.topic.clone();
        events.extend([invoke, done]);
    }

    fn fails_run(outcomes: &[Outcome], property: &str) -> bool {
        outcomes
            .iter()
            .any(|o| o.property == property && o.fails_run())
    }

    fn measured_failure(outcomes: &[Outcome], property: &str) -> bool {
        outcomes
            .iter()
            .any(|o| o.property == property && !o.passed && !o.asserted)
    }

    #[test_log::test]
    fn losses_at_a_level_that_does_not_survive_are_measured_and_at_one_that_does_fail() {
        let promises = Promises {
            surviving_ack_levels: vec!["replicated:1".to_owned()],
            recovery_bound_ms: 60_000,
            dead_letter: None,
            exactly_once: Vec::new(),
        };
        let measured: BTreeSet<String> = ["q-leader".to_owned()].into();
        let mut events = Vec::new();
        // q-leader lost `a` and reused its offset for `b`; q-replicated kept `r`.
        publish(&mut events, "q-leader", "leader", "a", 5);
        publish(&mut events, "q-leader", "leader", "b", 5);
        publish(&mut events, "q-replicated", "replicated:1", "r", 0);
        pull(&mut events, "q-leader", "s-leader", &[("b", 5)]);
        let mut good = events.clone();
        pull(&mut good, "q-replicated", "s-replicated", &[("r", 0)]);
        let outcomes = check_by_level(&History::new(good), &promises, &measured);
        assert!(!outcomes.iter().any(Outcome::fails_run), "{outcomes:#?}");
        assert!(measured_failure(&outcomes, "lost-acked:leader"));
        assert!(measured_failure(
            &outcomes,
            "one-value-per-offset:all-levels"
        ));
        assert!(
            outcomes
                .iter()
                .any(|o| o.property == "one-value-per-offset" && o.passed)
        );

        // The same history where q-replicated lost `r` and reused its offset.
        let mut bad = events;
        publish(&mut bad, "q-replicated", "replicated:1", "s", 0);
        pull(&mut bad, "q-replicated", "s-replicated", &[("s", 0)]);
        let outcomes = check_by_level(&History::new(bad), &promises, &measured);
        assert!(fails_run(&outcomes, "lost-acked:replicated:1"));
        assert!(fails_run(&outcomes, "one-value-per-offset"));
    }
}

//! Each checker fed a good history (it passes) and a hand-made bad one (it
//! fails, naming the violation).

use crate::checkers::*;
use crate::history::{Delivery, Event, History, Kind, Op};

/// A small story-writer for histories: times advance by one per event.
#[derive(Default)]
struct Story {
    events: Vec<Event>,
}

impl Story {
    fn time(&self) -> u64 {
        self.events.len() as u64 * 10
    }

    fn phase(mut self, name: &str) -> Self {
        self.events
            .push(Event::nemesis(self.time(), Op::Phase, name));
        self
    }

    /// A publish of `value` at `level` ending `kind`; an `ok` stores it at
    /// partition/offset.
    fn publish(
        mut self,
        process: u64,
        value: &str,
        level: &str,
        kind: Kind,
        at: (u32, u64),
    ) -> Self {
        let invoke = Event::publish(self.time(), process, "t", value, level);
        self.events.push(invoke.clone());
        let mut done = invoke.completed(self.time(), kind);
        if kind == Kind::Ok {
            done.partition = Some(at.0);
            done.offset = Some(at.1);
        }
        self.events.push(done);
        self
    }

    fn keyed(mut self, process: u64, value: &str, key: &str, at: (u32, u64)) -> Self {
        let mut invoke = Event::publish(self.time(), process, "t", value, "leader");
        invoke.key = Some(key.to_owned());
        invoke.idempotency_key = Some(value.to_owned());
        self.events.push(invoke.clone());
        let mut done = invoke.completed(self.time(), Kind::Ok);
        done.partition = Some(at.0);
        done.offset = Some(at.1);
        self.events.push(done);
        self
    }

    /// A pull by `process` on subscription `s` returning `values` as
    /// (value, partition, offset, attempt, epoch).
    fn pull(self, process: u64, s: &str, values: &[(&str, u32, u64, u32, u64)]) -> Self {
        self.member_pull(process, s, None, values)
    }

    /// The invocation of a pull by `process` on `s`, its reply not yet come.
    fn pull_begins(mut self, process: u64, s: &str) -> Self {
        let mut invoke = Event::new(self.time(), process, Kind::Invoke, Op::Pull);
        invoke.subscription = Some(s.to_owned());
        invoke.topic = Some("t".to_owned());
        self.events.push(invoke);
        self
    }

    /// An ack by `process` on `s` of `values` (delivered at attempt 1), ending `kind`.
    fn ack(mut self, process: u64, s: &str, values: &[&str], kind: Kind) -> Self {
        let mut invoke = Event::new(self.time(), process, Kind::Invoke, Op::Ack);
        invoke.subscription = Some(s.to_owned());
        invoke.topic = Some("t".to_owned());
        invoke.deliveries =
            deliveries(&values.iter().map(|v| (*v, 0, 0, 1, 1)).collect::<Vec<_>>());
        self.events.push(invoke.clone());
        let mut done = invoke.completed(self.time(), kind);
        done.deliveries = Vec::new();
        self.events.push(done);
        self
    }

    fn member_pull(
        self,
        process: u64,
        s: &str,
        member: Option<(&str, u64)>,
        values: &[(&str, u32, u64, u32, u64)],
    ) -> Self {
        self.pull_begins(process, s)
            .pull_returns(process, s, member, values)
    }

    /// The reply to the pull `process` began on `s`.
    fn pull_returns(
        mut self,
        process: u64,
        s: &str,
        member: Option<(&str, u64)>,
        values: &[(&str, u32, u64, u32, u64)],
    ) -> Self {
        let mut done = Event::pulled(self.time(), process, s, deliveries(values));
        done.topic = Some("t".to_owned());
        if let Some((member, generation)) = member {
            done.member = Some(member.to_owned());
            done.generation = Some(generation);
        }
        self.events.push(done);
        self
    }

    fn history(self) -> History {
        History::new(self.events)
    }
}

/// Deliveries of (value, partition, offset, attempt, epoch).
fn deliveries(values: &[(&str, u32, u64, u32, u64)]) -> Vec<Delivery> {
    values
        .iter()
        .map(|(value, partition, offset, attempt, epoch)| Delivery {
            value: (*value).to_owned(),
            partition: *partition,
            offset: *offset,
            attempt: *attempt,
            epoch: Some(*epoch),
            key: None,
        })
        .collect()
}

fn levels(levels: &[&str]) -> Vec<String> {
    levels.iter().map(|l| (*l).to_owned()).collect()
}

fn by_property<'a>(outcomes: &'a [Outcome], property: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.property == property)
        .unwrap_or_else(|| panic!("no outcome {property} in {outcomes:?}"))
}

#[test_log::test]
fn an_acked_publish_never_delivered_is_lost_and_counted_by_phase() {
    tracing::info!("arrange: a prefix publish delivered, a middle one acked and never delivered");
    let history = Story::default()
        .phase("quiet")
        .publish(1, "a", "leader", Kind::Ok, (0, 0))
        .phase("faults")
        .publish(1, "b", "leader", Kind::Ok, (0, 1))
        .publish(2, "c", "fsynced", Kind::Ok, (1, 0))
        .phase("heal")
        .pull(3, "s", &[("a", 0, 0, 1, 1), ("c", 1, 0, 1, 1)])
        .history();
    tracing::info!("act: check with only fsynced promised");
    let outcomes = lost_acked(&history, &levels(&["fsynced"]));
    tracing::info!("assert: leader lost one in the middle (measured), fsynced lost none");
    let leader = by_property(&outcomes, "lost-acked:leader");
    assert!(!leader.passed && !leader.asserted && !leader.fails_run());
    assert_eq!((leader.get("lost-middle"), leader.get("acked")), (1, 2));
    assert!(leader.examples[0].starts_with("b acked"));
    assert!(by_property(&outcomes, "lost-acked:fsynced").passed);
    let asserted = lost_acked(&history, &levels(&["leader"]));
    assert!(by_property(&asserted, "lost-acked:leader").fails_run());
}

#[test_log::test]
fn a_delivered_value_nobody_published_is_a_phantom() {
    let history = Story::default()
        .publish(1, "a", "leader", Kind::Ok, (0, 0))
        .pull(2, "s", &[("a", 0, 0, 1, 1), ("ghost", 0, 1, 1, 1)])
        .history();
    let outcome = phantoms(&history);
    assert!(!outcome.passed);
    assert!(outcome.examples[0].starts_with("ghost delivered"));
    assert!(
        phantoms(
            &Story::default()
                .publish(1, "a", "leader", Kind::Ok, (0, 0))
                .history()
        )
        .passed
    );
}

#[test_log::test]
fn a_definite_failure_that_was_delivered_took_effect() {
    let good = Story::default()
        .publish(1, "a", "leader", Kind::Fail, (0, 0))
        .publish(2, "b", "leader", Kind::Info, (0, 0))
        .pull(3, "s", &[("b", 0, 0, 1, 1)])
        .history();
    assert!(
        failed_took_effect(&good).passed,
        "an unknown outcome may take effect"
    );
    let bad = Story::default()
        .publish(1, "a", "leader", Kind::Fail, (0, 0))
        .pull(3, "s", &[("a", 0, 0, 1, 1)])
        .history();
    assert!(!failed_took_effect(&bad).passed);
}

#[test_log::test]
fn a_value_stored_twice_despite_its_idempotency_key_is_a_duplicate() {
    let history = Story::default()
        .keyed(1, "a", "k", (0, 0))
        .pull(2, "s", &[("a", 0, 0, 1, 1), ("a", 0, 1, 1, 1)])
        .history();
    let outcome = duplicates(&history);
    assert!(!outcome.passed);
    assert!(outcome.examples[0].contains("despite its idempotency key"));
    let redelivered = Story::default()
        .keyed(1, "a", "k", (0, 0))
        .pull(2, "s", &[("a", 0, 0, 1, 1)])
        .pull(2, "s", &[("a", 0, 0, 2, 1)])
        .history();
    assert!(
        duplicates(&redelivered).passed,
        "a redelivery is not a duplicate"
    );
}

#[test_log::test]
fn two_values_at_one_offset_are_caught() {
    let history = Story::default()
        .publish(1, "a", "leader", Kind::Ok, (0, 0))
        .publish(2, "b", "leader", Kind::Ok, (0, 0))
        .history();
    assert!(!one_value_per_offset(&history).passed);
    let good = Story::default()
        .publish(1, "a", "leader", Kind::Ok, (0, 0))
        .publish(2, "b", "leader", Kind::Ok, (0, 1))
        .history();
    assert!(one_value_per_offset(&good).passed);
}

#[test_log::test]
fn a_key_stored_out_of_publish_order_or_in_two_partitions_breaks_per_key_order() {
    let good = Story::default()
        .keyed(1, "a", "k", (0, 3))
        .keyed(1, "b", "k", (0, 7))
        .history();
    assert!(per_key_order(&good).passed);
    let backwards = Story::default()
        .keyed(1, "a", "k", (0, 3))
        .keyed(1, "b", "k", (0, 2))
        .history();
    assert!(!per_key_order(&backwards).passed);
    let moved = Story::default()
        .keyed(1, "a", "k", (0, 3))
        .keyed(1, "b", "k", (1, 4))
        .history();
    assert!(!per_key_order(&moved).passed);
}

#[test_log::test]
fn a_member_seeing_a_partition_go_backwards_breaks_per_partition_order() {
    let m = Some(("m1", 1));
    let good = Story::default()
        .member_pull(1, "g", m, &[("a", 0, 0, 1, 1), ("b", 0, 1, 1, 1)])
        .member_pull(1, "g", m, &[("a", 0, 0, 2, 1), ("c", 0, 2, 1, 1)])
        .history();
    assert!(
        per_partition_order(&good).passed,
        "redeliveries may go back"
    );
    let bad = Story::default()
        .member_pull(1, "g", m, &[("b", 0, 1, 1, 1)])
        .member_pull(1, "g", m, &[("a", 0, 0, 1, 1)])
        .history();
    assert!(!per_partition_order(&bad).passed);
    let lost_lease = Story::default()
        .member_pull(1, "g", m, &[("a", 0, 0, 1, 1), ("b", 0, 1, 1, 1)])
        .member_pull(1, "g", m, &[("a", 0, 0, 1, 1), ("c", 0, 2, 1, 1)])
        .history();
    let outcome = per_partition_order(&lost_lease);
    assert!(
        outcome.passed,
        "a lease lost with its owner comes back at attempt 1"
    );
    let skipped = Story::default()
        .member_pull(1, "g", m, &[("a", 0, 0, 1, 1), ("c", 0, 2, 1, 1)])
        .member_pull(1, "g", m, &[("a", 0, 0, 1, 1), ("b", 0, 1, 1, 1)])
        .history();
    assert!(
        !per_partition_order(&skipped).passed,
        "a message never delivered before may not pass a later one"
    );
    let shared = Story::default()
        .pull(1, "s", &[("b", 0, 1, 1, 1)])
        .pull(1, "s", &[("a", 0, 0, 1, 1)])
        .history();
    assert!(
        per_partition_order(&shared).passed,
        "a shared subscription orders per key only"
    );
}

#[test_log::test]
fn a_key_first_delivered_out_of_offset_order_breaks_per_key_delivery_order() {
    let keyed = |story: Story, value: &str, offset: u64| {
        let mut story = story.pull(1, "s", &[(value, 0, offset, 1, 1)]);
        if let Some(last) = story.events.last_mut() {
            last.deliveries[0].key = Some("k".to_owned());
        }
        story
    };
    let good = keyed(keyed(Story::default(), "a", 3), "b", 5).history();
    assert!(per_key_delivery_order(&good).passed);
    let bad = keyed(keyed(Story::default(), "b", 5), "a", 3).history();
    let repeated = keyed(keyed(Story::default(), "a", 3), "a", 3).history();
    let outcome = per_key_delivery_order(&repeated);
    assert!(outcome.passed, "the same message twice is not a reordering");
    assert_eq!(outcome.get("repeated-first-deliveries"), 1);
    let outcome = per_key_delivery_order(&bad);
    assert!(!outcome.passed);
    assert!(outcome.examples[0].contains("key k"));
}

#[test_log::test]
fn a_subscription_that_missed_an_acked_publish_breaks_at_least_once() {
    let history = Story::default()
        .publish(1, "a", "leader", Kind::Ok, (0, 0))
        .publish(1, "b", "leader", Kind::Ok, (0, 1))
        .pull(2, "s1", &[("a", 0, 0, 1, 1), ("b", 0, 1, 1, 1)])
        .pull(3, "s2", &[("a", 0, 0, 1, 1)])
        .history();
    let outcomes = at_least_once(&history, &levels(&["leader"]));
    assert!(by_property(&outcomes, "delivered:s1").passed);
    let s2 = by_property(&outcomes, "delivered:s2");
    assert!(s2.fails_run());
    assert!(s2.examples[0].starts_with("b acked"));
}

#[test_log::test]
fn two_members_served_one_partition_in_one_generation_break_exclusivity() {
    let good = Story::default()
        .member_pull(1, "g", Some(("m1", 1)), &[("a", 0, 0, 1, 1)])
        .member_pull(2, "g", Some(("m2", 2)), &[("b", 0, 1, 1, 1)])
        .history();
    assert!(
        exclusive(&good).passed,
        "a partition may move between generations"
    );
    let bad = Story::default()
        .member_pull(1, "g", Some(("m1", 2)), &[("a", 0, 0, 1, 1)])
        .member_pull(2, "g", Some(("m2", 2)), &[("b", 0, 1, 1, 1)])
        .history();
    assert!(!exclusive(&bad).passed);
}

#[test_log::test]
fn a_lease_under_an_older_epoch_after_a_newer_one_is_a_stale_owner() {
    let good = Story::default()
        .pull(1, "s", &[("a", 0, 0, 1, 1)])
        .pull(2, "s", &[("b", 0, 1, 1, 2)])
        .pull(1, "s", &[("c", 1, 0, 1, 1)])
        .history();
    assert!(
        no_stale_owner(&good).passed,
        "other partitions keep their epochs"
    );
    let bad = Story::default()
        .pull(1, "s", &[("a", 0, 0, 1, 2)])
        .pull(2, "s", &[("b", 0, 1, 1, 1)])
        .history();
    let outcome = no_stale_owner(&bad);
    assert!(!outcome.passed);
    assert!(outcome.examples[0].contains("under epoch 1"));
}

#[test_log::test]
fn nothing_working_after_the_heal_within_the_bound_is_a_recovery_failure() {
    let good = Story::default()
        .phase("heal")
        .publish(1, "a", "leader", Kind::Ok, (0, 0))
        .pull(2, "s", &[("a", 0, 0, 1, 1)])
        .history();
    assert!(bounded(&good, 1_000).passed);
    assert!(!bounded(&good, 5).passed, "too slow for a 5 ms bound");
    let stuck = Story::default()
        .phase("heal")
        .publish(1, "a", "leader", Kind::Info, (0, 0))
        .history();
    assert_eq!(bounded(&stuck, 1_000).get("violations"), 2);
}

#[test_log::test]
fn a_clean_history_passes_every_checker_and_round_trips_as_json_lines() {
    let history = Story::default()
        .phase("quiet")
        .keyed(1, "a", "k", (0, 0))
        .phase("faults")
        .publish(2, "b", "leader", Kind::Info, (0, 0))
        .phase("heal")
        .keyed(1, "c", "k", (0, 1))
        .pull(3, "s", &[("a", 0, 0, 1, 1), ("c", 0, 1, 1, 1)])
        .history();
    let promises = Promises {
        surviving_ack_levels: levels(&["leader"]),
        recovery_bound_ms: 1_000,
        dead_letter: None,
        exactly_once: Vec::new(),
    };
    let outcomes = check_all(&history, &promises);
    assert!(outcomes.iter().all(|o| o.passed), "{outcomes:#?}");
    let parsed = History::from_jsonl(&history.to_jsonl()).expect("parses");
    assert_eq!(parsed, history);
}

#[test_log::test]
fn a_message_delivered_again_after_its_ack_succeeded_on_an_exactly_once_subscription_fails() {
    tracing::info!("arrange: `a` pulled and acked, then delivered again by a later pull");
    let once = vec!["s-once".to_owned()];
    let history = Story::default()
        .pull(1, "s-once", &[("a", 0, 0, 1, 1)])
        .ack(1, "s-once", &["a"], Kind::Ok)
        .pull(2, "s-once", &[("a", 0, 0, 2, 1)])
        .history();
    let outcomes = no_delivery_after_ack(&history, &once);
    let outcome = by_property(&outcomes, "no-delivery-after-ack:s-once");
    assert!(!outcome.passed);
    assert!(
        outcome.examples[0].starts_with("a acked at attempt 1"),
        "{outcome:?}"
    );
    assert_eq!(outcome.counts["acked"], 1);
}

#[test_log::test]
fn a_later_attempt_of_an_acked_message_fails_whenever_its_pull_ran() {
    tracing::info!(
        "arrange: `a` at attempt 2 from a pull in flight across the ack, `b` from one before it"
    );
    let once = vec!["s-once".to_owned()];
    let history = Story::default()
        .pull(1, "s-once", &[("a", 0, 0, 1, 1), ("b", 0, 1, 1, 1)])
        .pull(3, "s-once", &[("b", 0, 1, 2, 1)])
        .pull_begins(2, "s-once")
        .ack(1, "s-once", &["a", "b"], Kind::Ok)
        .pull_returns(2, "s-once", None, &[("a", 0, 0, 2, 1)])
        .history();
    let outcomes = no_delivery_after_ack(&history, &once);
    let outcome = by_property(&outcomes, "no-later-attempt-after-ack:s-once");
    assert_eq!(outcome.counts.get("violations"), Some(&2), "{outcome:?}");
    assert!(by_property(&outcomes, "no-delivery-after-ack:s-once").passed);
}

#[test_log::test]
fn the_acked_attempt_in_flight_a_failed_ack_and_another_subscription_are_not_judged() {
    tracing::info!(
        "arrange: the acked attempt returned across the ack, a failed ack, an at-least-once subscription"
    );
    let once = vec!["s-once".to_owned()];
    let history = Story::default()
        .pull(1, "s-once", &[("a", 0, 0, 1, 1), ("b", 0, 1, 1, 1)])
        .pull_begins(2, "s-once")
        .ack(1, "s-once", &["a"], Kind::Ok)
        .pull_returns(2, "s-once", None, &[("a", 0, 0, 1, 1)])
        .ack(3, "s-once", &["b"], Kind::Fail)
        .pull(4, "s-once", &[("b", 0, 1, 2, 1)])
        .pull(5, "s-leader", &[("c", 1, 0, 1, 1)])
        .ack(5, "s-leader", &["c"], Kind::Ok)
        .pull(6, "s-leader", &[("c", 1, 0, 2, 1)])
        .history();
    let outcomes = no_delivery_after_ack(&history, &once);
    assert_eq!(
        outcomes.len(),
        2,
        "only the exactly-once subscription: {outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| o.passed), "{outcomes:?}");
    assert_eq!(outcomes[0].counts["deliveries"], 4);
}

//! Dead-letter accounting: a message whose last allowed delivery was nacked
//! is dead-lettered once (listed once in the subscription's `:deadLetters`,
//! copied at most once to the dead-letter topic) and not delivered again; and
//! its copy reaches the dead-letter topic.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::{History, Kind, Op};

/// A subscription with a dead-letter policy, as the workload created it.
#[derive(Debug, Clone)]
pub struct DeadLetterPolicy {
    /// The subscription whose consumer nacks every delivery.
    pub subscription: String,
    /// Its dead-letter topic (pulled through a subscription of its own).
    pub topic: String,
    pub max_attempts: u32,
}

type Positions<'a> = BTreeMap<&'a str, Vec<(u32, u64)>>;

/// The values nacked at their last attempt.
fn exhausted<'a>(history: &'a History, policy: &DeadLetterPolicy) -> BTreeSet<&'a str> {
    history
        .events
        .iter()
        .filter(|e| {
            e.f == Op::Nack
                && e.kind == Kind::Invoke
                && e.subscription.as_deref() == Some(policy.subscription.as_str())
        })
        .flat_map(|e| &e.deliveries)
        .filter(|d| d.attempt >= policy.max_attempts)
        .map(|d| d.value.as_str())
        .collect()
}

/// Each value's distinct positions in the dead-letter topic, as pulled.
fn copies<'a>(history: &'a History, policy: &DeadLetterPolicy) -> Positions<'a> {
    let mut at: BTreeMap<&str, BTreeSet<(u32, u64)>> = BTreeMap::new();
    for (pull, d) in history.deliveries() {
        if pull.topic.as_deref() == Some(policy.topic.as_str()) {
            at.entry(d.value.as_str())
                .or_default()
                .insert((d.partition, d.offset));
        }
    }
    at.into_iter()
        .map(|(v, p)| (v, p.into_iter().collect()))
        .collect()
}

/// Each value's entries in the last successful `:deadLetters` listing, if any.
fn listed<'a>(history: &'a History, policy: &DeadLetterPolicy) -> Option<Positions<'a>> {
    let last = history.events.iter().rev().find(|e| {
        e.f == Op::DeadLetters
            && e.kind == Kind::Ok
            && e.subscription.as_deref() == Some(policy.subscription.as_str())
    })?;
    let mut at: Positions<'a> = BTreeMap::new();
    for d in &last.deliveries {
        at.entry(d.value.as_str())
            .or_default()
            .push((d.partition, d.offset));
    }
    Some(at)
}

/// `dead-letter`: no value is delivered to the subscription after attempt
/// `max_attempts`; every value nacked at that attempt is listed exactly once
/// in the subscription's dead letters; and no value is at two positions of
/// the dead-letter topic.
pub fn dead_letter(history: &History, policy: &DeadLetterPolicy) -> Outcome {
    let mut outcome = Outcome::new("dead-letter");
    for (pull, d) in history.deliveries() {
        if pull.subscription.as_deref() == Some(policy.subscription.as_str())
            && d.attempt > policy.max_attempts
        {
            outcome.violation(format!(
                "{} delivered to {} at attempt {} (after its last, {})",
                d.value, policy.subscription, d.attempt, policy.max_attempts
            ));
        }
    }
    let listing = listed(history, policy);
    if listing.is_none() {
        outcome.violation(format!(
            "no listing of {}'s dead letters",
            policy.subscription
        ));
    }
    let listing = listing.unwrap_or_default();
    for value in exhausted(history, policy) {
        outcome.count("exhausted", 1);
        match listing.get(value).map_or(0, Vec::len) {
            1 => {}
            0 => outcome.violation(format!(
                "{value} nacked at its last attempt, not a dead letter of {}",
                policy.subscription
            )),
            n => outcome.violation(format!("{value} listed as a dead letter {n} times")),
        }
    }
    for (value, at) in copies(history, policy) {
        outcome.count("copied", 1);
        if at.len() > 1 {
            outcome.violation(format!(
                "{value} in {} {} times: {at:?}",
                policy.topic,
                at.len()
            ));
        }
    }
    outcome.count("listed", listing.len() as u64);
    outcome
}

/// `dead-letter-copied`: every value nacked at its last attempt reached the
/// dead-letter topic.
pub fn dead_letter_copied(history: &History, policy: &DeadLetterPolicy) -> Outcome {
    let mut outcome = Outcome::new("dead-letter-copied");
    let copies = copies(history, policy);
    for value in exhausted(history, policy) {
        outcome.count("exhausted", 1);
        if !copies.contains_key(value) {
            outcome.violation(format!(
                "{value} nacked at its last attempt, never in {}",
                policy.topic
            ));
        }
    }
    outcome
}

/// The values nacked at their last attempt that the listing (`listed`, one
/// value per entry) does not hold yet: the run waits for them.
pub fn not_yet_listed<'a>(
    history: &'a History,
    policy: &DeadLetterPolicy,
    listed: &BTreeSet<String>,
) -> Vec<&'a str> {
    exhausted(history, policy)
        .into_iter()
        .filter(|v| !listed.contains(*v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Delivery, Event};

    fn policy() -> DeadLetterPolicy {
        DeadLetterPolicy {
            subscription: "s".to_owned(),
            topic: "dl".to_owned(),
            max_attempts: 5,
        }
    }

    fn delivery(value: &str, attempt: u32, offset: u64) -> Delivery {
        Delivery {
            value: value.to_owned(),
            partition: 0,
            offset,
            attempt,
            epoch: None,
            key: None,
        }
    }

    fn pull(subscription: &str, topic: &str, d: Delivery) -> Event {
        let mut event = Event::pulled(0, 1, subscription, vec![d]);
        event.topic = Some(topic.to_owned());
        event
    }

    fn nack(d: Delivery) -> Event {
        let mut event = Event::new(0, 1, Kind::Invoke, Op::Nack);
        event.subscription = Some("s".to_owned());
        event.deliveries = vec![d];
        event
    }

    fn listing(entries: usize) -> Event {
        let mut event = Event::new(0, 2, Kind::Ok, Op::DeadLetters);
        event.subscription = Some("s".to_owned());
        event.deliveries = vec![delivery("v", 5, 7); entries];
        event
    }

    /// `v` delivered and nacked five times, listed `entries` times, and
    /// pulled from the dead-letter topic at `copies`.
    fn story(entries: usize, copies: &[u64], extra: Vec<Event>) -> History {
        let mut events = Vec::new();
        for attempt in 1..=5 {
            events.push(pull("s", "t", delivery("v", attempt, 7)));
            events.push(nack(delivery("v", attempt, 7)));
        }
        for offset in copies {
            events.push(pull("s-dl", "dl", delivery("v", 1, *offset)));
        }
        events.push(listing(entries));
        events.extend(extra);
        History::new(events)
    }

    #[test_log::test]
    fn one_entry_and_one_copy_pass() {
        let history = story(1, &[0, 0], vec![]);
        let outcome = dead_letter(&history, &policy());
        assert!(outcome.passed, "{outcome:?}");
        assert_eq!(outcome.get("exhausted"), 1);
        assert!(dead_letter_copied(&history, &policy()).passed);
        let listed = BTreeSet::from(["v".to_owned()]);
        assert!(not_yet_listed(&history, &policy(), &listed).is_empty());
        assert_eq!(not_yet_listed(&history, &policy(), &BTreeSet::new()), ["v"]);
    }

    #[test_log::test]
    fn a_missing_or_repeated_entry_fails() {
        for (entries, says) in [(0, "not a dead letter"), (2, "2 times")] {
            let outcome = dead_letter(&story(entries, &[0], vec![]), &policy());
            assert!(!outcome.passed);
            assert!(outcome.examples[0].contains(says), "{outcome:?}");
        }
    }

    #[test_log::test]
    fn two_copies_fail_and_no_copy_fails_the_copy_check() {
        let outcome = dead_letter(&story(1, &[0, 1], vec![]), &policy());
        assert!(!outcome.passed);
        assert!(outcome.examples[0].contains("in dl 2 times"), "{outcome:?}");
        let uncopied = dead_letter_copied(&story(1, &[], vec![]), &policy());
        assert!(!uncopied.passed);
        assert!(uncopied.examples[0].contains("never in dl"), "{uncopied:?}");
    }

    #[test_log::test]
    fn a_delivery_after_the_last_attempt_fails() {
        let late = vec![pull("s", "t", delivery("v", 6, 7))];
        let outcome = dead_letter(&story(1, &[0], late), &policy());
        assert!(!outcome.passed);
        assert!(outcome.examples[0].contains("attempt 6"), "{outcome:?}");
    }
}

//! Each value stored once, and each position holding one value: a value at two
//! positions of its topic is a duplicate (despite the idempotency key its retries carried);
//! one offset delivered with two values means two writers shared a partition.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::{History, Kind};

type Position<'a> = (&'a str, u32, u64);

/// Topic of each value, from its publish invocations.
fn topics(history: &History) -> BTreeMap<&str, &str> {
    history
        .publishes(Kind::Invoke)
        .filter_map(|e| Some((e.value.as_deref()?, e.topic.as_deref()?)))
        .collect()
}

/// Every (topic, partition, offset) each value was seen at: in publish
/// replies and in deliveries.
fn positions(history: &History) -> BTreeMap<&str, BTreeSet<Position<'_>>> {
    let topics = topics(history);
    let mut positions: BTreeMap<&str, BTreeSet<Position<'_>>> = BTreeMap::new();
    for event in history.publishes(Kind::Ok) {
        if let (Some(v), Some(t), Some(p), Some(o)) = (
            event.value.as_deref(),
            event.topic.as_deref(),
            event.partition,
            event.offset,
        ) {
            positions.entry(v).or_default().insert((t, p, o));
        }
    }
    for (pull, d) in history.deliveries() {
        let topic = pull
            .topic
            .as_deref()
            .or_else(|| topics.get(d.value.as_str()).copied())
            .unwrap_or("");
        positions
            .entry(d.value.as_str())
            .or_default()
            .insert((topic, d.partition, d.offset));
    }
    positions
}

/// `no-duplicates`: no value stored at two positions of the topic it was
/// published to.
pub fn duplicates(history: &History) -> Outcome {
    let keyed: BTreeSet<&str> = history
        .publishes(Kind::Invoke)
        .filter(|e| e.idempotency_key.is_some())
        .filter_map(|e| e.value.as_deref())
        .collect();
    let topics = topics(history);
    let mut outcome = Outcome::new("no-duplicates");
    for (value, mut at) in positions(history) {
        // A copy in another topic (a dead letter) is not a duplicate.
        if let Some(topic) = topics.get(value) {
            at.retain(|(t, _, _)| t == topic);
        }
        outcome.count("values", 1);
        if at.len() > 1 {
            let why = if keyed.contains(value) {
                "despite its idempotency key"
            } else {
                "published once"
            };
            outcome.violation(format!("{value} stored {} times ({why}): {at:?}", at.len()));
        }
    }
    outcome
}

/// `one-value-per-offset`: no position holds two values.
pub fn one_value_per_offset(history: &History) -> Outcome {
    let mut values: BTreeMap<Position<'_>, BTreeSet<&str>> = BTreeMap::new();
    for (value, at) in positions(history) {
        for position in at {
            values.entry(position).or_default().insert(value);
        }
    }
    let mut outcome = Outcome::new("one-value-per-offset");
    for (position, held) in values {
        outcome.count("offsets", 1);
        if held.len() > 1 {
            outcome.violation(format!("{position:?} holds {held:?}"));
        }
    }
    outcome
}

//! Order: publishes of one ordering key stored in publish order in one
//! partition and first delivered in that order on an ordered subscription
//! (per-key), and each consumer-group member seeing a partition's first
//! deliveries in offset order (per-partition). An ordered shared
//! subscription promises order per key only: a key waiting for its previous
//! message's ack lets later offsets of other keys pass it, as in Google
//! Pub/Sub.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::{History, Kind};

/// `per-key-order`: each key's acknowledged publishes, in acknowledgement
/// order, sit in one partition at increasing offsets. (A worker publishes its
/// key one message at a time, so acknowledgement order is publish order.)
pub fn per_key_order(history: &History) -> Outcome {
    let mut last: BTreeMap<(&str, &str), (u32, u64, &str)> = BTreeMap::new();
    let mut outcome = Outcome::new("per-key-order");
    for event in history.publishes(Kind::Ok) {
        let (Some(topic), Some(key), Some(value), Some(partition), Some(offset)) = (
            event.topic.as_deref(),
            event.key.as_deref(),
            event.value.as_deref(),
            event.partition,
            event.offset,
        ) else {
            continue;
        };
        outcome.count("keyed", 1);
        if let Some((p, o, v)) = last.insert((topic, key), (partition, offset, value))
            && (p != partition || o >= offset)
        {
            outcome.violation(format!(
                "key {key}: {v} at {p}/{o}, then {value} at {partition}/{offset}"
            ));
        }
    }
    outcome
}

/// `per-key-delivery-order`: on each shared subscription (the harness's are
/// ordered), each key's first deliveries (attempt 1) come at increasing offsets.
pub fn per_key_delivery_order(history: &History) -> Outcome {
    let mut last: BTreeMap<(&str, &str), (u64, &str)> = BTreeMap::new();
    let mut outcome = Outcome::new("per-key-delivery-order");
    for (pull, d) in history.deliveries() {
        let (Some(key), None, 1) = (d.key.as_deref(), &pull.member, d.attempt) else {
            continue;
        };
        outcome.count("keyed-deliveries", 1);
        let subscription = pull.subscription.as_deref().unwrap_or("");
        let previous = last.insert((subscription, key), (d.offset, d.value.as_str()));
        if previous.is_some_and(|(offset, _)| offset == d.offset) {
            // The same message as a first delivery twice: a redelivery the
            // owner did not count (see `no-stale-owner`), not a reordering.
            outcome.count("repeated-first-deliveries", 1);
        } else if let Some((offset, value)) = previous
            && offset > d.offset
        {
            outcome.violation(format!(
                "{subscription} key {key}: {value} at {offset} first delivered before {} at {}",
                d.value, d.offset
            ));
        }
    }
    outcome
}

/// `per-partition-order`: each consumer-group member's (process's) first
/// deliveries (attempt 1) of a partition come at strictly increasing offsets.
/// A message delivered before, to anyone, that comes back at attempt 1 is a
/// redelivery the owner did not count (an at-least-once lease lost with its
/// owner on Redis: docs/delivery.md), not a reordering: counted apart.
pub fn per_partition_order(history: &History) -> Outcome {
    let mut last: BTreeMap<(u64, &str, u32), (u64, &str)> = BTreeMap::new();
    let mut delivered: BTreeSet<(&str, u32, u64)> = BTreeSet::new();
    let mut outcome = Outcome::new("per-partition-order");
    for (pull, d) in history.deliveries() {
        let subscription = pull.subscription.as_deref().unwrap_or("");
        let seen = !delivered.insert((subscription, d.partition, d.offset));
        if d.attempt != 1 || pull.member.is_none() {
            continue;
        }
        if seen {
            outcome.count("repeated-first-deliveries", 1);
            continue;
        }
        outcome.count("first-deliveries", 1);
        let slot = (pull.process, subscription, d.partition);
        if let Some((offset, value)) = last.insert(slot, (d.offset, d.value.as_str()))
            && offset >= d.offset
        {
            outcome.violation(format!(
                "process {} on {subscription} partition {}: {value} at {offset}, then {} at {}",
                pull.process, d.partition, d.value, d.offset
            ));
        }
    }
    outcome
}

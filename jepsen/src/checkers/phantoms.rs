//! Values that appear without a cause: delivered but never published
//! (phantoms), and publishes that failed definitely yet were delivered.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::{History, Kind};

/// `no-phantoms`: every delivered value was the value of some publish invocation.
pub fn phantoms(history: &History) -> Outcome {
    let invoked: BTreeSet<&str> = history
        .publishes(Kind::Invoke)
        .filter_map(|e| e.value.as_deref())
        .collect();
    let mut outcome = Outcome::new("no-phantoms");
    let mut reported = BTreeSet::new();
    for (pull, delivery) in history.deliveries() {
        outcome.count("deliveries", 1);
        if !invoked.contains(delivery.value.as_str()) && reported.insert(&delivery.value) {
            outcome.violation(format!(
                "{} delivered at {} ms on {:?} partition {} offset {}, never published",
                delivery.value, pull.time, pull.subscription, delivery.partition, delivery.offset
            ));
        }
    }
    outcome
}

/// `failed-took-no-effect`: a value whose every attempt failed definitely was
/// never delivered.
pub fn failed_took_effect(history: &History) -> Outcome {
    let mut completions: BTreeMap<&str, BTreeSet<Kind>> = BTreeMap::new();
    for event in history.events.iter().filter(|e| e.kind != Kind::Invoke) {
        if let (crate::history::Op::Publish, Some(value)) = (event.f, event.value.as_deref()) {
            completions.entry(value).or_default().insert(event.kind);
        }
    }
    let delivered: BTreeSet<&str> = history
        .deliveries()
        .map(|(_, d)| d.value.as_str())
        .collect();
    let mut outcome = Outcome::new("failed-took-no-effect");
    for (value, kinds) in completions {
        if kinds.len() == 1 && kinds.contains(&Kind::Fail) {
            outcome.count("failed", 1);
            if delivered.contains(value) {
                outcome.violation(format!("{value} failed definitely but was delivered"));
            }
        }
    }
    outcome
}

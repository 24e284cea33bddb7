//! Acknowledged publishes that no subscriber ever received, per ack level, and
//! when they were acknowledged: before the faults (prefix), during them
//! (middle) or after the heal (postfix).

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::{History, Kind};

/// One outcome per ack level seen, `lost-acked:<level>`; a level not in
/// `promised` (one that does not promise to survive the run's faults) is
/// measured, not asserted.
pub fn lost_acked(history: &History, promised: &[String]) -> Vec<Outcome> {
    let delivered: BTreeSet<&str> = history
        .deliveries()
        .map(|(_, d)| d.value.as_str())
        .collect();
    let faults = history.phase_start("faults").unwrap_or(0);
    let heal = history.phase_start("heal").unwrap_or(u64::MAX);
    let recovered: BTreeSet<&str> = history
        .publishes(Kind::Info)
        .filter_map(|e| e.value.as_deref())
        .filter(|v| delivered.contains(v))
        .collect();
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for event in history.publishes(Kind::Ok) {
        let (Some(value), Some(level)) = (event.value.as_deref(), event.ack_level.as_deref())
        else {
            continue;
        };
        let outcome = outcomes.entry(level.to_owned()).or_insert_with(|| {
            let mut outcome = Outcome::new(format!("lost-acked:{level}"));
            outcome.asserted = promised.iter().any(|p| p == level);
            outcome
        });
        if !seen.insert(value) {
            continue;
        }
        outcome.count("acked", 1);
        if delivered.contains(value) {
            continue;
        }
        let when = if event.time < faults {
            "prefix"
        } else if event.time < heal {
            "middle"
        } else {
            "postfix"
        };
        outcome.count(&format!("lost-{when}"), 1);
        outcome.violation(format!(
            "{value} acked at {} ms ({when}) through node {:?}, partition {:?} offset {:?}, never delivered",
            event.time, event.node, event.partition, event.offset
        ));
    }
    for outcome in outcomes.values_mut() {
        outcome.count("recovered-unknown", recovered.len() as u64);
    }
    outcomes.into_values().collect()
}

//! Consumer-group exclusivity: within one generation, each partition's
//! messages go to one member only.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::History;

/// `group-exclusive`: no (subscription, generation, partition) delivered to
/// two members.
pub fn exclusive(history: &History) -> Outcome {
    let mut members: BTreeMap<(&str, u64, u32), BTreeSet<&str>> = BTreeMap::new();
    for (pull, d) in history.deliveries() {
        let (Some(subscription), Some(member), Some(generation)) = (
            pull.subscription.as_deref(),
            pull.member.as_deref(),
            pull.generation,
        ) else {
            continue;
        };
        members
            .entry((subscription, generation, d.partition))
            .or_default()
            .insert(member);
    }
    let mut outcome = Outcome::new("group-exclusive");
    for ((subscription, generation, partition), held) in members {
        outcome.count("assignments", 1);
        if held.len() > 1 {
            outcome.violation(format!(
                "{subscription} generation {generation} partition {partition} delivered to {held:?}"
            ));
        }
    }
    outcome
}

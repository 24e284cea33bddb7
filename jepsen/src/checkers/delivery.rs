//! At-least-once delivery per subscription: each acknowledged publish to a
//! topic reached every subscription of that topic that was pulled.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkers::Outcome;
use crate::history::{History, Kind};

/// `delivered:<subscription>`, one per subscription seen in the pulls;
/// asserted when the topic's ack level is in `promised`.
pub fn at_least_once(history: &History, promised: &[String]) -> Vec<Outcome> {
    let mut topic_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut received: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (pull, d) in history.deliveries() {
        if let (Some(s), Some(t)) = (pull.subscription.as_deref(), pull.topic.as_deref()) {
            topic_of.insert(s, t);
            received.entry(s).or_default().insert(d.value.as_str());
        }
    }
    for event in history.events.iter() {
        if let (crate::history::Op::Pull, Some(s), Some(t)) = (
            event.f,
            event.subscription.as_deref(),
            event.topic.as_deref(),
        ) {
            topic_of.insert(s, t);
        }
    }
    let mut outcomes = Vec::new();
    for (subscription, topic) in topic_of {
        let mut outcome = Outcome::new(format!("delivered:{subscription}"));
        let got = received.get(subscription);
        let mut seen = BTreeSet::new();
        for event in history.publishes(Kind::Ok) {
            let (Some(value), Some(level)) = (event.value.as_deref(), event.ack_level.as_deref())
            else {
                continue;
            };
            if event.topic.as_deref() != Some(topic) || !seen.insert(value) {
                continue;
            }
            outcome.asserted = promised.iter().any(|p| p == level);
            outcome.count("acked", 1);
            if !got.is_some_and(|g| g.contains(value)) {
                outcome.violation(format!("{value} acked, never delivered to {subscription}"));
            }
        }
        outcomes.push(outcome);
    }
    outcomes
}

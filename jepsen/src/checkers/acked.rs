//! `no-delivery-after-ack:<subscription>`: on an `exactly-once` subscription a
//! successful ack is final. Once its reply came, no pull that began after it
//! may deliver the message again: the broker confirmed the ack only once it
//! was durable, so neither an expired lease, an owner's crash nor a moved
//! partition can bring the message back.
//!
//! A pull that began before the ack's reply may still return the message (its
//! lease may have expired while the ack was on its way); that is not judged.
//! An ack that failed or whose outcome is unknown promises nothing.

use std::collections::{BTreeMap, HashMap};

use crate::checkers::Outcome;
use crate::history::{History, Kind, Op};

/// One outcome per subscription in `exactly_once`.
pub fn no_delivery_after_ack(history: &History, exactly_once: &[String]) -> Vec<Outcome> {
    exactly_once
        .iter()
        .map(|subscription| check(history, subscription))
        .collect()
}

fn check(history: &History, subscription: &str) -> Outcome {
    let mut outcome = Outcome::new(format!("no-delivery-after-ack:{subscription}"));
    // Each process's operation in flight: its invocation's index and event.
    let mut invoked = HashMap::new();
    // The index of the first successful ack's reply, per value.
    let mut acked: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if event.subscription.as_deref() != Some(subscription) {
            continue;
        }
        match (event.f, event.kind) {
            (Op::Ack | Op::Pull, Kind::Invoke) => {
                invoked.insert(event.process, (index, event));
            }
            (Op::Ack, Kind::Ok) => {
                let Some((_, invoke)) = invoked.remove(&event.process) else {
                    continue;
                };
                for delivery in &invoke.deliveries {
                    if acked.insert(delivery.value.as_str(), index).is_none() {
                        outcome.count("acked", 1);
                    }
                }
            }
            (Op::Pull, Kind::Ok) => {
                let began = invoked.remove(&event.process).map_or(index, |(at, _)| at);
                for delivery in &event.deliveries {
                    outcome.count("deliveries", 1);
                    let Some(&ack) = acked.get(delivery.value.as_str()) else {
                        continue;
                    };
                    if ack < began {
                        outcome.violation(format!(
                            "{} acked (event {ack}), delivered again by a pull begun after it \
                             (event {began}, attempt {}, partition {} offset {})",
                            delivery.value, delivery.attempt, delivery.partition, delivery.offset
                        ));
                    }
                }
            }
            _ => {
                invoked.remove(&event.process);
            }
        }
    }
    outcome
}

//! On an `exactly-once` subscription a successful ack is final. The broker
//! confirms it only once durable, and refuses (`409 ACK_EXPIRED`) an ack whose
//! lease expired or that belongs to an older attempt, so after an ack of
//! attempt `a` succeeded:
//!
//! - `no-delivery-after-ack:<subscription>`: no pull that began after the
//!   ack's reply delivers the message again, at any attempt (not an expired
//!   lease, an owner's crash nor a moved partition);
//! - `no-later-attempt-after-ack:<subscription>`: no other pull, in flight
//!   across the ack or done before it, delivered it at an attempt later than
//!   `a`: that delivery should have made the ack be refused.
//!
//! A pull in flight across the ack that returns the acked attempt itself is
//! the delivery being acked (or its twin, which `no-stale-owner` judges). An
//! ack that failed or whose outcome is unknown counts as promising nothing,
//! though a `409` acks the request's other ids: fewer checks, no false alarm.

use std::collections::{BTreeMap, HashMap};

use crate::checkers::Outcome;
use crate::history::{History, Kind, Op};

/// Two outcomes per subscription in `exactly_once`.
pub fn no_delivery_after_ack(history: &History, exactly_once: &[String]) -> Vec<Outcome> {
    exactly_once
        .iter()
        .flat_map(|subscription| check(history, subscription))
        .collect()
}

/// Where an ack succeeded: the index of its reply and the attempt it acked.
#[derive(Clone, Copy)]
struct Acked {
    reply: usize,
    attempt: u32,
}

/// Each event of `subscription` with, for a completion, the index of the
/// invocation it completes (one operation in flight per process).
fn paired<'a>(
    history: &'a History,
    subscription: &'a str,
) -> impl Iterator<Item = (usize, usize, &'a crate::history::Event)> + 'a {
    let mut invoked: HashMap<u64, usize> = HashMap::new();
    history
        .events
        .iter()
        .enumerate()
        .filter(move |(_, e)| e.subscription.as_deref() == Some(subscription))
        .map(move |(index, event)| {
            let began = if event.kind == Kind::Invoke {
                invoked.insert(event.process, index);
                index
            } else {
                invoked.remove(&event.process).unwrap_or(index)
            };
            (index, began, event)
        })
}

fn check(history: &History, subscription: &str) -> [Outcome; 2] {
    let mut outcome = Outcome::new(format!("no-delivery-after-ack:{subscription}"));
    let mut later = Outcome::new(format!("no-later-attempt-after-ack:{subscription}"));
    // The first successful ack of each value.
    let mut acked: BTreeMap<&str, Acked> = BTreeMap::new();
    for (index, began, event) in paired(history, subscription) {
        if (event.f, event.kind) != (Op::Ack, Kind::Ok) {
            continue;
        }
        for delivery in &history.events[began].deliveries {
            acked.entry(delivery.value.as_str()).or_insert_with(|| {
                outcome.count("acked", 1);
                later.count("acked", 1);
                Acked {
                    reply: index,
                    attempt: delivery.attempt,
                }
            });
        }
    }
    for (_, began, event) in paired(history, subscription) {
        if (event.f, event.kind) != (Op::Pull, Kind::Ok) {
            continue;
        }
        for delivery in &event.deliveries {
            outcome.count("deliveries", 1);
            later.count("deliveries", 1);
            let Some(ack) = acked.get(delivery.value.as_str()) else {
                continue;
            };
            let which = if ack.reply < began {
                &mut outcome
            } else if delivery.attempt > ack.attempt {
                &mut later
            } else {
                continue;
            };
            which.violation(format!(
                "{} acked at attempt {} (event {}), delivered again at attempt {} by a pull \
                     begun at event {began} (partition {} offset {})",
                delivery.value,
                ack.attempt,
                ack.reply,
                delivery.attempt,
                delivery.partition,
                delivery.offset
            ));
        }
    }
    [outcome, later]
}

//! Stale owners: once a partition was served under an owner epoch, no
//! operation that began afterwards is served under an older one (the
//! ownership lease and the catch-up barrier; an at-least-once lease on Redis
//! writes nothing, so the fence on cursor writes does not stop it).

use std::collections::BTreeMap;

use crate::checkers::Outcome;
use crate::history::{History, Kind, Op};

/// `no-stale-owner`: for each (topic, partition), a delivery whose pull was
/// invoked after a pull completed with epoch `e` carries an epoch of at least `e`.
pub fn no_stale_owner(history: &History) -> Outcome {
    // (topic, partition) -> (completion time, epoch) of every delivery.
    let mut completed: BTreeMap<(&str, u32), Vec<(u64, u64)>> = BTreeMap::new();
    let mut invoked_at: BTreeMap<u64, u64> = BTreeMap::new();
    let mut pulls = Vec::new();
    for event in &history.events {
        match (event.f, event.kind) {
            (Op::Pull, Kind::Invoke) => {
                invoked_at.insert(event.process, event.time);
            }
            (Op::Pull, Kind::Ok) => {
                let start = invoked_at
                    .get(&event.process)
                    .copied()
                    .unwrap_or(event.time);
                let topic = event.topic.as_deref().unwrap_or("");
                for d in &event.deliveries {
                    if let Some(epoch) = d.epoch {
                        completed
                            .entry((topic, d.partition))
                            .or_default()
                            .push((event.time, epoch));
                        pulls.push((start, topic, d, epoch));
                    }
                }
            }
            _ => {}
        }
    }
    let mut outcome = Outcome::new("no-stale-owner");
    for (start, topic, d, epoch) in pulls {
        outcome.count("leases", 1);
        let newest = completed
            .get(&(topic, d.partition))
            .into_iter()
            .flatten()
            .filter(|(time, _)| *time < start)
            .map(|(_, e)| *e)
            .max();
        if let Some(newest) = newest
            && newest > epoch
        {
            outcome.violation(format!(
                "{topic}/{} {} leased under epoch {epoch} in a pull begun at {start} ms, after epoch {newest} served",
                d.partition, d.value
            ));
        }
    }
    outcome
}

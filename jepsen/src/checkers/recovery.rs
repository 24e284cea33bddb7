//! Bounded recovery: after the heal, publishes and deliveries succeed again
//! within a bound.

use crate::checkers::Outcome;
use crate::history::{History, Kind, Op};

/// `recovery`: the first acknowledged publish and the first delivery after
/// the `heal` phase begins come within `bound_ms` of it.
pub fn bounded(history: &History, bound_ms: u64) -> Outcome {
    let mut outcome = Outcome::new("recovery");
    let Some(heal) = history.phase_start("heal") else {
        return outcome;
    };
    let after = |op: Op| {
        history
            .events
            .iter()
            .filter(|e| e.f == op && e.kind == Kind::Ok && e.time >= heal)
            .find(|e| op != Op::Pull || !e.deliveries.is_empty())
            .map(|e| e.time - heal)
    };
    for (op, name) in [(Op::Publish, "publish"), (Op::Pull, "delivery")] {
        match after(op) {
            Some(ms) => {
                outcome.count(&format!("{name}-ms"), ms);
                if ms > bound_ms {
                    outcome.violation(format!(
                        "first {name} {ms} ms after the heal (bound {bound_ms} ms)"
                    ));
                }
            }
            None => outcome.violation(format!("no {name} succeeded after the heal")),
        }
    }
    outcome
}

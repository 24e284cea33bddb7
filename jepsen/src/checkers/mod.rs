//! The checkers: each reads a whole [`History`] and says whether one property
//! held, as an [`Outcome`].
//!
//! | property | file |
//! |---|---|
//! | `lost-acked:<level>`: acknowledged publishes lost, per ack level, split prefix/middle/postfix | `lost.rs` |
//! | `no-phantoms`, `failed-took-no-effect` | `phantoms.rs` |
//! | `no-duplicates` (idempotency keys), `one-value-per-offset` | `duplicates.rs` |
//! | `per-key-order` (stored), `per-key-delivery-order`, `per-partition-order` (group members) | `order.rs` |
//! | `delivered:<subscription>`: at least once per subscription | `delivery.rs` |
//! | `no-delivery-after-ack:<subscription>`, `no-later-attempt-after-ack:<subscription>`: on an `exactly-once` subscription, a successful ack is final | `acked.rs` |
//! | `group-exclusive`: one member per partition per generation | `groups.rs` |
//! | `no-stale-owner`: no lease under an older epoch after a newer one | `stale_owner.rs` |
//! | `dead-letter`: each message nacked at its last attempt dead-lettered exactly once; `dead-letter-copied`: and copied to the dead-letter topic | `dead_letter.rs` |
//! | `linearizable-metadata`: each topic name's creates, deletes and not-found reads have a linearization | `metadata.rs` |
//! | `member-learner`, `member-got-partitions`, `member-drained`, `member-left`, `member-partitions-back`: the `member` fault's cycles | `membership.rs` |
//! | `recovery`: publishes and deliveries resume within a bound after the heal | `recovery.rs` |
//!
//! `by_level.rs` runs them for a run whose faults are beyond some ack
//! levels' promise (a Redis failover): the data properties asserted over the
//! surviving levels' topics, measured over all (`<property>:all-levels`).
//!
//! Values are unique per run, so most checks are set arithmetic over values.

mod acked;
mod by_level;
mod dead_letter;
mod delivery;
mod duplicates;
mod groups;
mod lost;
mod membership;
#[cfg(test)]
mod membership_tests;
mod metadata;
#[cfg(test)]
mod metadata_tests;
mod order;
mod outcome;
mod phantoms;
mod recovery;
mod stale_owner;
#[cfg(test)]
mod tests;

pub use acked::no_delivery_after_ack;
pub use by_level::check_by_level;
pub use dead_letter::{DeadLetterPolicy, dead_letter, dead_letter_copied, not_yet_listed};
pub use delivery::at_least_once;
pub use duplicates::{duplicates, one_value_per_offset};
pub use groups::exclusive;
pub use lost::lost_acked;
pub use membership::membership;
pub use metadata::linearizable_metadata;
pub use order::{per_key_delivery_order, per_key_order, per_partition_order};
pub use outcome::Outcome;
pub use phantoms::{failed_took_effect, phantoms};
pub use recovery::bounded;
pub use stale_owner::no_stale_owner;

use crate::history::History;

/// What a run promises: the ack levels that survive its faults (losses at
/// other levels are measured, not asserted), the recovery bound, the
/// dead-letter policy to account for, and the `exactly-once` subscriptions
/// whose successful acks are final.
#[derive(Debug, Clone)]
pub struct Promises {
    pub surviving_ack_levels: Vec<String>,
    pub recovery_bound_ms: u64,
    pub dead_letter: Option<DeadLetterPolicy>,
    pub exactly_once: Vec<String>,
}

/// Every checker over `history`.
pub fn check_all(history: &History, promises: &Promises) -> Vec<Outcome> {
    let levels = &promises.surviving_ack_levels;
    let mut outcomes = lost_acked(history, levels);
    outcomes.extend([
        phantoms(history),
        failed_took_effect(history),
        duplicates(history),
        one_value_per_offset(history),
        per_key_order(history),
        per_key_delivery_order(history),
        per_partition_order(history),
    ]);
    outcomes.extend(at_least_once(history, levels));
    outcomes.extend(no_delivery_after_ack(history, &promises.exactly_once));
    outcomes.extend([
        exclusive(history),
        no_stale_owner(history),
        linearizable_metadata(history),
        bounded(history, promises.recovery_bound_ms),
    ]);
    outcomes.extend(membership(history));
    if let Some(policy) = &promises.dead_letter {
        outcomes.push(dead_letter(history, policy));
        outcomes.push(dead_letter_copied(history, policy));
    }
    outcomes
}

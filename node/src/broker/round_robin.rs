//! [`RoundRobin`]: the turn that spreads messages without an ordering key over
//! a topic's partitions, and leases' starts over a subscription's.

use std::sync::atomic::{AtomicU32, Ordering};

/// Each publish request's unkeyed messages go together to the next partition
/// in turn (sticky per batch, like Kafka's default partitioner), so a batch
/// costs one append. Delivery keeps a turn of its own for where each lease
/// starts its round of partitions.
#[derive(Debug, Default)]
pub struct RoundRobin {
    turn: AtomicU32,
}

impl RoundRobin {
    /// The partition (of `partitions`) whose turn it is, and moves the turn on.
    pub fn next(&self, partitions: u32) -> u32 {
        self.turn.fetch_add(1, Ordering::Relaxed) % partitions
    }
}

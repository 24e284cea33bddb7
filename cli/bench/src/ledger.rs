//! Which messages arrived, and how often: one bit per (producer, sequence).
//!
//! Producers number their messages 0, 1, 2, … without gaps, so after the run a
//! producer that had `n` publishes acknowledged expects exactly sequences `0..n`.
//! A sequence seen twice is a duplicate (a redelivery the consumer could not tell
//! apart); one of `0..n` never seen is lost; one at or past `n` was received though
//! its publish was never acknowledged (a publish that failed or timed out).

use serde::{Deserialize, Serialize};

use crate::payload::Stamp;

/// Bits of the sequences received, per producer.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// `seen[producer]` holds bit `sequence % 64` of word `sequence / 64`.
    seen: Vec<Vec<u64>>,
    unique: u64,
    duplicates: u64,
}

/// Whether a received message is new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    First,
    Duplicate,
}

/// What the consumers received, against what the producers had acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Publishes the broker acknowledged.
    pub expected: u64,
    /// Distinct messages received.
    pub received: u64,
    /// Acknowledged publishes never received.
    pub lost: u64,
    /// Deliveries of a message already received.
    pub duplicates: u64,
    /// Distinct messages received whose publish was never acknowledged.
    pub unacknowledged: u64,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes one delivery.
    pub fn record(&mut self, stamp: Stamp) -> Arrival {
        let producer = stamp.producer as usize;
        if self.seen.len() <= producer {
            self.seen.resize_with(producer + 1, Vec::new);
        }
        let words = &mut self.seen[producer];
        let word = (stamp.sequence / 64) as usize;
        if words.len() <= word {
            // Grow by doubling so a long run does not reallocate per word.
            words.resize((word + 1).max(words.len() * 2), 0);
        }
        let bit = 1u64 << (stamp.sequence % 64);
        if words[word] & bit != 0 {
            self.duplicates += 1;
            Arrival::Duplicate
        } else {
            words[word] |= bit;
            self.unique += 1;
            Arrival::First
        }
    }

    /// Distinct messages received so far.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// Checks the deliveries against `acknowledged[p]`, the publishes of producer `p`
    /// that the broker acknowledged (sequences `0..acknowledged[p]`).
    pub fn verify(&self, acknowledged: &[u64]) -> Verification {
        let mut verification = Verification {
            expected: acknowledged.iter().sum(),
            received: self.unique,
            duplicates: self.duplicates,
            ..Verification::default()
        };
        let producers = acknowledged.len().max(self.seen.len());
        for producer in 0..producers {
            let expected = acknowledged.get(producer).copied().unwrap_or(0);
            let words = self.seen.get(producer).map(Vec::as_slice).unwrap_or(&[]);
            let mut received_expected = 0;
            for (index, &word) in words.iter().enumerate() {
                let first = index as u64 * 64;
                let in_range = match expected.saturating_sub(first) {
                    0 => 0,
                    n if n >= 64 => u64::MAX,
                    n => (1u64 << n) - 1,
                };
                received_expected += u64::from((word & in_range).count_ones());
                verification.unacknowledged += u64::from((word & !in_range).count_ones());
            }
            verification.lost += expected - received_expected;
        }
        verification
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(producer: u32, sequence: u64) -> Stamp {
        Stamp {
            producer,
            sequence,
            sent_at_nanos: 0,
        }
    }

    #[test]
    fn every_message_once_is_clean() {
        let mut ledger = Ledger::new();
        for producer in 0..3 {
            for sequence in (0..130).rev() {
                assert_eq!(ledger.record(stamp(producer, sequence)), Arrival::First);
            }
        }
        let verification = ledger.verify(&[130, 130, 130]);
        assert_eq!(
            verification,
            Verification {
                expected: 390,
                received: 390,
                ..Verification::default()
            }
        );
    }

    #[test]
    fn gaps_are_lost_and_repeats_are_duplicates() {
        let mut ledger = Ledger::new();
        for sequence in [0, 1, 3, 3, 64, 64, 64] {
            ledger.record(stamp(0, sequence));
        }
        // Producer 1 had 5 acknowledged publishes and none arrived.
        let verification = ledger.verify(&[100, 5]);
        assert_eq!(verification.received, 4);
        assert_eq!(verification.duplicates, 3);
        assert_eq!(verification.lost, 96 + 5);
        assert_eq!(verification.unacknowledged, 0);
    }

    #[test]
    fn messages_past_the_acknowledged_ones_are_counted_apart() {
        let mut ledger = Ledger::new();
        for sequence in 0..10 {
            ledger.record(stamp(0, sequence));
        }
        ledger.record(stamp(2, 0));
        let verification = ledger.verify(&[8]);
        assert_eq!(verification.lost, 0);
        assert_eq!(verification.unacknowledged, 3);
        assert_eq!(verification.received, 11);
    }
}

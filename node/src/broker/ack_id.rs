//! Ack ids: which delivery of which message an ack refers to.
//!
//! Format (opaque to clients, stable within a release):
//! `<partition>.<offset>.<attempt>.<epoch>`, all decimal. The subscription is
//! known from the request path, and with it the topic, so partition and offset
//! find the message; the attempt tells a current lease from a stale one; the
//! epoch is the partition owner's when the message was delivered.

use std::fmt;
use std::str::FromStr;

use crate::storage::{DeliveryRef, Epoch};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckId {
    pub partition: u32,
    pub offset: u64,
    pub attempt: u32,
    pub epoch: Epoch,
}

impl AckId {
    pub fn delivery(&self) -> DeliveryRef {
        DeliveryRef {
            offset: self.offset,
            attempt: self.attempt,
        }
    }

    /// The text form in one allocation of its exact size: one is written per
    /// delivered message, so the digits come from `itoa`, not `fmt` (which
    /// with `to_string` also grew the string three times).
    pub fn encode(&self) -> String {
        let mut digits = [itoa::Buffer::new(); 4];
        let [partition, offset, attempt, epoch] = &mut digits;
        let parts = [
            partition.format(self.partition),
            offset.format(self.offset),
            attempt.format(self.attempt),
            epoch.format(self.epoch.get()),
        ];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() - 1);
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push('.');
            }
            text.push_str(part);
        }
        text
    }
}

impl fmt::Display for AckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for AckId {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "not an ack id issued by this broker";
        // Digits only: integer parsing would also take a leading `+`, which
        // the API document's pattern for ack ids does not allow.
        if !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(SHAPE);
        }
        let mut parts = s.split('.');
        let mut next = || parts.next().ok_or(SHAPE);
        let partition = next()?.parse().map_err(|_| SHAPE)?;
        let offset = next()?.parse().map_err(|_| SHAPE)?;
        let attempt: u32 = next()?.parse().map_err(|_| SHAPE)?;
        let epoch = next()?.parse().map_err(|_| SHAPE)?;
        if parts.next().is_some() {
            return Err(SHAPE);
        }
        if attempt == 0 {
            return Err("delivery attempts start at 1");
        }
        Ok(Self {
            partition,
            offset,
            attempt,
            epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "a.2.3.4",
            "1.2.0.4",
            "-1.2.3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
        ] {
            assert!(bad.parse::<AckId>().is_err(), "{bad:?} should be rejected");
        }
    }

    proptest! {
        #[test]
        fn the_documented_pattern_accepts_exactly_the_ack_ids(text in "[0-9.+a]{0,12}|[0-9]{1,21}\\.[0-9]{1,21}\\.[0-9]{1,11}\\.[0-9]{1,21}") {
            let pattern = regex::Regex::new(&api::openapi::ack_id_pattern()).expect("the pattern compiles");
            prop_assert_eq!(pattern.is_match(&text), text.parse::<AckId>().is_ok(), "{:?}", text);
        }

        #[test]
        fn round_trips(partition: u32, offset: u64, attempt in 1u32.., epoch: u64) {
            let id = AckId { partition, offset, attempt, epoch: Epoch::new(epoch) };
            let text = id.encode();
            prop_assert_eq!(&text, &format!("{partition}.{offset}.{attempt}.{epoch}"));
            prop_assert_eq!(text.capacity(), text.len());
            prop_assert_eq!(id.to_string(), text);
            prop_assert_eq!(id.to_string().parse::<AckId>(), Ok(id));
        }
    }
}

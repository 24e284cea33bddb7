//! How a subscription's cursor on one partition is written to Redis and read
//! back. A cursor is one hash: scalars under `next`, `acked_below`,
//! `expired`, `served`; each tracked offset under its decimal number with an
//! [`OffsetState`] encoded as `L <attempt> <deadline>[ <busy key>]`,
//! `P <attempts> <due>`, `D <attempts> <at>[ <reason>]` (dead, its copy in
//! the dead-letter topic stored or not needed), `O <attempts> <at>[ <reason>]`
//! (dead, its copy still in the outbox) or `A`; each parked
//! ordering key under `k:<key>`.

use std::collections::HashMap;

use super::field_encoding::corrupt;
use crate::storage::StorageError;
use crate::storage::cursor::{Cursor, OffsetState, Scalars};

const NEXT: &str = "next";
const ACKED_BELOW: &str = "acked_below";
const EXPIRED: &str = "expired";
const SERVED: &str = "served";
const PARKED_PREFIX: &str = "k:";

/// The hash fields of the scalars.
pub(crate) fn scalar_fields(s: Scalars) -> [(&'static str, String); 4] {
    [
        (NEXT, s.next.to_string()),
        (ACKED_BELOW, s.acked_below.to_string()),
        (EXPIRED, s.expired.to_string()),
        (SERVED, s.served.to_string()),
    ]
}

/// The hash field of a parked ordering key.
pub(crate) fn parked_field(key: &str) -> String {
    format!("{PARKED_PREFIX}{key}")
}

/// A tracked offset's hash value: `<tag> <count> <time>[ <text>]`, or `A`.
/// One is written per leased message, so the digits come from `itoa`, not
/// `format!` (which cost a lease more than the rest of its write-through).
pub(crate) fn encode_state(state: &OffsetState) -> String {
    let (tag, count, time, text) = match state {
        OffsetState::Leased {
            attempt,
            deadline,
            busy_key,
        } => ("L", *attempt, *deadline, busy_key.as_deref()),
        OffsetState::Pending { attempts, due } => ("P", *attempts, *due, None),
        OffsetState::Dead {
            attempts,
            at,
            reason,
            copy_pending,
        } => {
            let tag = if *copy_pending { "O" } else { "D" };
            (tag, *attempts, *at, reason.as_deref())
        }
        OffsetState::Acked => return "A".to_owned(),
    };
    let mut count_digits = itoa::Buffer::new();
    let mut time_digits = itoa::Buffer::new();
    let count = count_digits.format(count);
    let time = time_digits.format(time);
    let mut value =
        String::with_capacity(tag.len() + count.len() + time.len() + 3 + text.map_or(0, str::len));
    for part in [tag, " ", count, " ", time] {
        value.push_str(part);
    }
    if let Some(text) = text {
        value.push(' ');
        value.push_str(text);
    }
    value
}

/// An offset as a hash field's name.
pub(crate) fn offset_field(offset: u64) -> String {
    itoa::Buffer::new().format(offset).to_owned()
}

pub(crate) fn decode_state(text: &str) -> Option<OffsetState> {
    let mut parts = text.splitn(4, ' ');
    let tag = parts.next()?;
    if tag == "A" {
        return Some(OffsetState::Acked);
    }
    let count: u32 = parts.next()?.parse().ok()?;
    let time: u64 = parts.next()?.parse().ok()?;
    let rest = parts.next().map(str::to_owned);
    match tag {
        "L" => Some(OffsetState::Leased {
            attempt: count,
            deadline: time,
            busy_key: rest,
        }),
        "P" if rest.is_none() => Some(OffsetState::Pending {
            attempts: count,
            due: time,
        }),
        "D" | "O" => Some(OffsetState::Dead {
            attempts: count,
            at: time,
            reason: rest,
            copy_pending: tag == "O",
        }),
        _ => None,
    }
}

/// Rebuilds a cursor from its hash (`HGETALL`); `None` if the hash is empty.
pub(crate) fn decode_cursor(hash: HashMap<String, String>) -> Result<Option<Cursor>, StorageError> {
    if hash.is_empty() {
        return Ok(None);
    }
    let scalar = |name: &str| -> Result<u64, StorageError> {
        hash.get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt(format!("cursor field {name} missing or not a number")))
    };
    let scalars = Scalars {
        next: scalar(NEXT)?,
        acked_below: scalar(ACKED_BELOW)?,
        expired: scalar(EXPIRED).unwrap_or(0),
        served: scalar(SERVED).unwrap_or(0),
    };
    let mut offsets = Vec::new();
    let mut parked = Vec::new();
    for (field, value) in &hash {
        if let Some(key) = field.strip_prefix(PARKED_PREFIX) {
            parked.push(key.to_owned());
        } else if field.starts_with(|c: char| c.is_ascii_digit()) {
            let offset: u64 = field
                .parse()
                .map_err(|_| corrupt(format!("cursor field {field:?}")))?;
            let state = decode_state(value)
                .ok_or_else(|| corrupt(format!("cursor state {value:?} of offset {offset}")))?;
            offsets.push((offset, state));
        }
    }
    offsets.sort_by_key(|(offset, _)| *offset);
    Ok(Some(Cursor::restore(scalars, offsets, parked)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_states_round_trip() {
        for state in [
            OffsetState::Leased {
                attempt: 2,
                deadline: 1_700_000_010_000,
                busy_key: Some("customer 7: eu".to_owned()),
            },
            OffsetState::Leased {
                attempt: 1,
                deadline: 5,
                busy_key: None,
            },
            OffsetState::Leased {
                attempt: 1,
                deadline: 5,
                busy_key: Some(String::new()),
            },
            OffsetState::Pending {
                attempts: 0,
                due: 9,
            },
            OffsetState::Dead {
                attempts: 5,
                at: 7,
                reason: Some("cannot parse: bad json".to_owned()),
                copy_pending: true,
            },
            OffsetState::Dead {
                attempts: 5,
                at: 7,
                reason: None,
                copy_pending: false,
            },
            OffsetState::Dead {
                attempts: 5,
                at: 7,
                reason: None,
                copy_pending: true,
            },
            OffsetState::Acked,
        ] {
            assert_eq!(decode_state(&encode_state(&state)), Some(state));
        }
        // The text stays what earlier releases wrote and read.
        let leased = |busy_key: Option<&str>| OffsetState::Leased {
            attempt: 2,
            deadline: 1_795_628_522_123,
            busy_key: busy_key.map(str::to_owned),
        };
        assert_eq!(encode_state(&leased(None)), "L 2 1795628522123");
        assert_eq!(encode_state(&leased(Some(""))), "L 2 1795628522123 ");
        assert_eq!(encode_state(&leased(Some("k 1"))), "L 2 1795628522123 k 1");
        let dead = OffsetState::Dead {
            attempts: u32::MAX,
            at: u64::MAX,
            reason: Some("bad".to_owned()),
            copy_pending: true,
        };
        assert_eq!(encode_state(&dead), "O 4294967295 18446744073709551615 bad");
        assert_eq!(offset_field(0), "0");
        assert_eq!(offset_field(u64::MAX), "18446744073709551615");
        assert_eq!(decode_state("X 1 2"), None);
        assert_eq!(decode_state("P 1"), None);
    }
}

//! How messages and cursor state are written to Redis and read back.
//!
//! A message is one stream entry with fields `b` (bytes appended before it, for
//! size retention), `t` (publish time), `p` (priority), `d` (data), and when set
//! `a` (attributes as a JSON object), `k` (ordering key), `da` (deliver-at),
//! `ea` (expire-at), `z` (how `d` is compressed: `snappy`, a raw Snappy
//! block, or `lz4`, an LZ4 block behind its little-endian u32 length). The
//! append script writes the fields from [`append_args`]; [`decode_message`]
//! reads them. A topic's compression applies to data of at least
//! [`COMPRESS_FROM_BYTES`], and only when the result is smaller; `b` and the
//! size limits always count uncompressed bytes.
//!
//! A cursor is one hash: scalars under `next`, `acked_below`, `expired`,
//! `served`; each tracked offset under its decimal number with an
//! [`OffsetState`] encoded as `L <attempt> <deadline>[ <busy key>]`,
//! `P <attempts> <due>`, `D <attempts> <at>[ <reason>]` or `A`; each parked
//! ordering key under `k:<key>`.

use crate::storage::Millis;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use cluster::Compression;
use cluster::topic::MAX_MESSAGE_BYTES;
use redis::Value;
use redis::streams::StreamId;

use super::keys::offset_of;
use crate::storage::cursor::{Cursor, OffsetState, Scalars};
use crate::storage::{NewMessage, StorageError, StoredMessage};

/// Script arguments per message in an append.
pub(crate) const ARGS_PER_MESSAGE: usize = 9;

/// Smallest payload worth compressing: below it the codecs rarely save much
/// and the CPU is better spent elsewhere.
pub(crate) const COMPRESS_FROM_BYTES: usize = 1024;

const NEXT: &str = "next";
const ACKED_BELOW: &str = "acked_below";
const EXPIRED: &str = "expired";
const SERVED: &str = "served";
const PARKED_PREFIX: &str = "k:";

fn corrupt(reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        reason: reason.into(),
    }
}

/// `data` as stored under `compression`, with the `z` tag (empty when stored as is).
fn compress(data: &[u8], compression: Compression) -> (Vec<u8>, &'static str) {
    if data.len() < COMPRESS_FROM_BYTES {
        return (data.to_vec(), "");
    }
    let (packed, tag) = match compression {
        Compression::None => return (data.to_vec(), ""),
        Compression::Snappy => match snap::raw::Encoder::new().compress_vec(data) {
            Ok(packed) => (packed, "snappy"),
            Err(_) => return (data.to_vec(), ""),
        },
        Compression::Lz4 => (lz4_flex::block::compress_prepend_size(data), "lz4"),
    };
    if packed.len() < data.len() {
        (packed, tag)
    } else {
        (data.to_vec(), "")
    }
}

/// The stored `d` field back to the payload. The declared length is checked
/// against [`MAX_MESSAGE_BYTES`] before anything is allocated.
fn decompress(stored: Vec<u8>, tag: &[u8], entry: &str) -> Result<Vec<u8>, StorageError> {
    let too_large = |len: usize| {
        corrupt(format!(
            "entry {entry} declares {len} uncompressed bytes, more than any message"
        ))
    };
    let bad = |e: String| corrupt(format!("entry {entry}: {e}"));
    match tag {
        b"snappy" => {
            let len = snap::raw::decompress_len(&stored).map_err(|e| bad(e.to_string()))?;
            if len > MAX_MESSAGE_BYTES as usize {
                return Err(too_large(len));
            }
            snap::raw::Decoder::new()
                .decompress_vec(&stored)
                .map_err(|e| bad(e.to_string()))
        }
        b"lz4" => {
            let len = stored
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| bad("lz4 block without its length".to_owned()))?;
            if len > MAX_MESSAGE_BYTES {
                return Err(too_large(len as usize));
            }
            lz4_flex::block::decompress_size_prepended(&stored).map_err(|e| bad(e.to_string()))
        }
        other => Err(bad(format!(
            "unknown compression {:?}",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// The append script's arguments for one message, in the order it reads them:
/// size, data, attributes (JSON, empty when none), ordering key (`=` + key,
/// empty when none), priority, publish time, deliver-at, expire-at (empty when
/// none), compression tag of the data (empty when stored as is).
pub(crate) fn append_args(
    message: &NewMessage,
    compression: Compression,
) -> [Vec<u8>; ARGS_PER_MESSAGE] {
    let (data, tag) = compress(&message.data, compression);
    let optional = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default().into_bytes();
    let attributes = if message.attributes.is_empty() {
        Vec::new()
    } else {
        serde_json::to_vec(&message.attributes).unwrap_or_default()
    };
    [
        message.size().to_string().into_bytes(),
        data,
        attributes,
        message
            .ordering_key
            .as_ref()
            .map(|k| format!("={k}").into_bytes())
            .unwrap_or_default(),
        message.priority.to_string().into_bytes(),
        message.publish_time_millis.to_string().into_bytes(),
        optional(message.deliver_at_millis.map(Millis::get)),
        optional(message.expire_at_millis.map(Millis::get)),
        tag.as_bytes().to_vec(),
    ]
}

/// A stream entry written by the append script.
pub(crate) fn decode_message(entry: &StreamId) -> Result<Arc<StoredMessage>, StorageError> {
    let offset =
        offset_of(&entry.id).ok_or_else(|| corrupt(format!("stream id {:?}", entry.id)))?;
    let field = |name: &str| entry.map.get(name).map(bytes_of).transpose();
    let required = |name: &str| {
        field(name)?.ok_or_else(|| corrupt(format!("entry {} has no field {name}", entry.id)))
    };
    let number = |name: &str| -> Result<Option<u64>, StorageError> {
        field(name)?.map(|b| parse_u64(&b, name)).transpose()
    };
    let attributes: BTreeMap<String, String> = match field("a")? {
        Some(json) => serde_json::from_slice(&json)
            .map_err(|e| corrupt(format!("attributes of entry {}: {e}", entry.id)))?,
        None => BTreeMap::new(),
    };
    let ordering_key = field("k")?
        .map(|k| String::from_utf8(k).map_err(|_| corrupt("ordering key is not UTF-8")))
        .transpose()?;
    let priority = parse_u64(&required("p")?, "p")?;
    let mut data = field("d")?.unwrap_or_default();
    if let Some(tag) = field("z")? {
        data = decompress(data, &tag, &entry.id)?;
    }
    Ok(Arc::new(StoredMessage {
        offset,
        message: NewMessage {
            data: Bytes::from(data),
            attributes,
            ordering_key,
            priority: u8::try_from(priority).map_err(|_| corrupt("priority out of range"))?,
            publish_time_millis: parse_u64(&required("t")?, "t")?,
            deliver_at_millis: number("da")?.and_then(Millis::new),
            expire_at_millis: number("ea")?.and_then(Millis::new),
        },
    }))
}

fn bytes_of(value: &Value) -> Result<Vec<u8>, StorageError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes.clone()),
        Value::SimpleString(text) => Ok(text.clone().into_bytes()),
        Value::Int(n) => Ok(n.to_string().into_bytes()),
        other => Err(corrupt(format!("unexpected field value {other:?}"))),
    }
}

fn parse_u64(bytes: &[u8], what: &str) -> Result<u64, StorageError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt(format!("{what} is not a number")))
}

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

pub(crate) fn encode_state(state: &OffsetState) -> String {
    match state {
        OffsetState::Leased {
            attempt,
            deadline,
            busy_key,
        } => match busy_key {
            Some(key) => format!("L {attempt} {deadline} {key}"),
            None => format!("L {attempt} {deadline}"),
        },
        OffsetState::Pending { attempts, due } => format!("P {attempts} {due}"),
        OffsetState::Dead {
            attempts,
            at,
            reason,
        } => match reason {
            Some(reason) => format!("D {attempts} {at} {reason}"),
            None => format!("D {attempts} {at}"),
        },
        OffsetState::Acked => "A".to_owned(),
    }
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
        "D" => Some(OffsetState::Dead {
            attempts: count,
            at: time,
            reason: rest,
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
    fn large_payloads_compress_and_come_back_whole() {
        let large: Vec<u8> = b"order 42 shipped; ".repeat(200);
        for compression in [Compression::Snappy, Compression::Lz4] {
            let (stored, tag) = compress(&large, compression);
            assert!(
                !tag.is_empty() && stored.len() < large.len(),
                "{compression:?}"
            );
            assert_eq!(
                decompress(stored, tag.as_bytes(), "0-1").expect("decompress"),
                large
            );
        }
        let small = b"tiny".to_vec();
        assert_eq!(compress(&small, Compression::Lz4), (small, ""));
        assert!(decompress(vec![0xff; 8], b"lz4", "0-1").is_err());
        assert!(decompress(vec![1, 2], b"zstd", "0-1").is_err());
    }

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
            },
            OffsetState::Dead {
                attempts: 5,
                at: 7,
                reason: None,
            },
            OffsetState::Acked,
        ] {
            assert_eq!(decode_state(&encode_state(&state)), Some(state));
        }
        assert_eq!(decode_state("X 1 2"), None);
        assert_eq!(decode_state("P 1"), None);
    }
}

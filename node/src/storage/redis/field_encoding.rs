//! How messages and cursor state are written to Redis and read back.
//!
//! A message is one stream entry with fields `b` (bytes appended before it, for
//! size retention), `t` (publish time), `p` (priority), `d` (data), and when set
//! `a` (attributes as a JSON object), `k` (ordering key), `da` (deliver-at),
//! `ea` (expire-at), `z` (how `d` is compressed: `snappy`, a raw Snappy
//! block, or `lz4`, an LZ4 block behind its little-endian u32 length). The
//! append script writes the fields from [`append_args`]; [`decode_range`]
//! reads them back from an `XRANGE` reply. A topic's compression applies to data of at least
//! [`COMPRESS_FROM_BYTES`], and only when the result is smaller; `b` and the
//! size limits always count uncompressed bytes.
//!
//! A cursor is one hash: scalars under `next`, `acked_below`, `expired`,
//! `served`; each tracked offset under its decimal number with an
//! [`OffsetState`] encoded as `L <attempt> <deadline>[ <busy key>]`,
//! `P <attempts> <due>`, `D <attempts> <at>[ <reason>]` (dead, its copy in
//! the dead-letter topic stored or not needed), `O <attempts> <at>[ <reason>]`
//! (dead, its copy still in the outbox) or `A`; each parked
//! ordering key under `k:<key>`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use cluster::Compression;
use cluster::topic::MAX_MESSAGE_BYTES;
use redis::Value;

use super::keys::offset_of;
use crate::storage::cursor::{Cursor, OffsetState, Scalars};
use crate::storage::{Millis, NewMessage, StorageError, StoredMessage};

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

/// The messages of an `XRANGE` reply, read straight from the reply: each
/// payload is moved out, not copied, and no per-entry map is built (this runs
/// for every message a lease reads from Redis).
pub(crate) fn decode_range(reply: Value) -> Result<Vec<Arc<StoredMessage>>, StorageError> {
    match reply {
        Value::Array(entries) => entries.into_iter().map(decode_entry).collect(),
        Value::Nil => Ok(Vec::new()),
        other => Err(corrupt(format!("XRANGE replied {other:?}"))),
    }
}

/// The fields of one stream entry written by the append script.
#[derive(Default)]
struct EntryFields {
    data: Option<Vec<u8>>,
    attributes: Option<Vec<u8>>,
    ordering_key: Option<Vec<u8>>,
    priority: Option<Vec<u8>>,
    publish_time: Option<Vec<u8>>,
    deliver_at: Option<Vec<u8>>,
    expire_at: Option<Vec<u8>>,
    compression: Option<Vec<u8>>,
}

/// One `[id, [field, value, …]]` entry (RESP3 may send the fields as a map).
fn decode_entry(entry: Value) -> Result<Arc<StoredMessage>, StorageError> {
    let Value::Array(parts) = entry else {
        return Err(corrupt(format!("stream entry {entry:?}")));
    };
    let mut parts = parts.into_iter();
    let (Some(id), Some(values)) = (parts.next(), parts.next()) else {
        return Err(corrupt("stream entry without id or fields"));
    };
    let id = String::from_utf8(into_bytes(id)?).map_err(|_| corrupt("stream id is not UTF-8"))?;
    let pairs: Vec<(Value, Value)> = match values {
        Value::Array(items) => {
            let mut items = items.into_iter();
            let mut pairs = Vec::with_capacity(items.len() / 2);
            while let (Some(name), Some(value)) = (items.next(), items.next()) {
                pairs.push((name, value));
            }
            pairs
        }
        Value::Map(pairs) => pairs,
        other => return Err(corrupt(format!("fields of entry {id}: {other:?}"))),
    };
    let mut fields = EntryFields::default();
    for (name, value) in pairs {
        let slot = match into_bytes(name)?.as_slice() {
            b"d" => &mut fields.data,
            b"a" => &mut fields.attributes,
            b"k" => &mut fields.ordering_key,
            b"p" => &mut fields.priority,
            b"t" => &mut fields.publish_time,
            b"da" => &mut fields.deliver_at,
            b"ea" => &mut fields.expire_at,
            b"z" => &mut fields.compression,
            _ => continue, // `b`, bytes before: read by the trim script only
        };
        *slot = Some(into_bytes(value)?);
    }
    decode_message(&id, fields)
}

fn decode_message(id: &str, fields: EntryFields) -> Result<Arc<StoredMessage>, StorageError> {
    let offset = offset_of(id).ok_or_else(|| corrupt(format!("stream id {id:?}")))?;
    let required = |value: Option<Vec<u8>>, name: &str| {
        value.ok_or_else(|| corrupt(format!("entry {id} has no field {name}")))
    };
    let number = |value: Option<Vec<u8>>, name: &str| -> Result<Option<u64>, StorageError> {
        value.map(|b| parse_u64(&b, name)).transpose()
    };
    let attributes: BTreeMap<String, String> = match fields.attributes {
        Some(json) => serde_json::from_slice(&json)
            .map_err(|e| corrupt(format!("attributes of entry {id}: {e}")))?,
        None => BTreeMap::new(),
    };
    let ordering_key = fields
        .ordering_key
        .map(|k| String::from_utf8(k).map_err(|_| corrupt("ordering key is not UTF-8")))
        .transpose()?;
    let priority = parse_u64(&required(fields.priority, "p")?, "p")?;
    let mut data = fields.data.unwrap_or_default();
    if let Some(tag) = fields.compression {
        data = decompress(data, &tag, id)?;
    }
    Ok(Arc::new(StoredMessage {
        offset,
        message: NewMessage {
            data: Bytes::from(data),
            attributes,
            ordering_key,
            priority: u8::try_from(priority).map_err(|_| corrupt("priority out of range"))?,
            publish_time_millis: parse_u64(&required(fields.publish_time, "t")?, "t")?,
            deliver_at_millis: number(fields.deliver_at, "da")?.and_then(Millis::new),
            expire_at_millis: number(fields.expire_at, "ea")?.and_then(Millis::new),
        },
    }))
}

/// A reply value's bytes, moved out.
fn into_bytes(value: Value) -> Result<Vec<u8>, StorageError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.into_bytes()),
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
            copy_pending,
        } => {
            let tag = if *copy_pending { "O" } else { "D" };
            match reason {
                Some(reason) => format!("{tag} {attempts} {at} {reason}"),
                None => format!("{tag} {attempts} {at}"),
            }
        }
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

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn xrange_replies_decode_in_both_resp_shapes_and_bad_ones_are_corrupt() {
        let flat = Value::Array(vec![
            bulk("0-8"),
            Value::Array(
                [
                    ("b", "0"),
                    ("t", "1700"),
                    ("p", "7"),
                    ("d", "hello"),
                    ("k", "eu"),
                    ("ea", "1900"),
                ]
                .iter()
                .flat_map(|(f, v)| [bulk(f), bulk(v)])
                .collect(),
            ),
        ]);
        let mapped = Value::Array(vec![
            bulk("0-9"),
            Value::Map(vec![
                (bulk("t"), bulk("1800")),
                (bulk("p"), Value::Int(4)),
                (bulk("a"), bulk(r#"{"x":"y"}"#)),
            ]),
        ]);
        let messages = decode_range(Value::Array(vec![flat, mapped])).expect("decodes");
        let first = &messages[0];
        assert_eq!(first.offset, 7);
        assert_eq!(first.message.data.as_ref(), b"hello");
        assert_eq!(first.message.ordering_key.as_deref(), Some("eu"));
        assert_eq!(first.message.priority, 7);
        assert_eq!(first.message.publish_time_millis, 1700);
        assert_eq!(first.message.expire_at_millis, Millis::new(1900));
        assert_eq!(first.message.deliver_at_millis, None);
        let second = &messages[1];
        assert_eq!(second.offset, 8);
        assert!(second.message.data.is_empty());
        assert_eq!(second.message.attributes["x"], "y");
        assert!(decode_range(Value::Nil).expect("empty").is_empty());

        let without_priority = Value::Array(vec![Value::Array(vec![
            bulk("0-1"),
            Value::Array(vec![bulk("t"), bulk("1")]),
        ])]);
        for bad in [
            without_priority,
            Value::Int(3),
            Value::Array(vec![Value::Array(vec![bulk("0-1")])]),
            Value::Array(vec![Value::Array(vec![bulk("x-1"), Value::Array(vec![])])]),
        ] {
            assert!(
                matches!(decode_range(bad), Err(StorageError::Corrupt { .. })),
                "must be refused"
            );
        }
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
        assert_eq!(decode_state("X 1 2"), None);
        assert_eq!(decode_state("P 1"), None);
    }
}

//! How messages are written to Redis and read back.
//!
//! A message is one stream entry in one of two formats (see `entry_format`
//! for which one a node writes). Format 1 has fields `b` (bytes appended
//! before it, for size retention), `t` (publish time), `p` (priority), `d`
//! (data), and when set `a` (attributes as a JSON object), `k` (ordering key),
//! `da` (deliver-at), `ea` (expire-at), `z` (how `d` is compressed, see
//! `compression`): the append script writes them from [`append_args`].
//! Format 2 has `b` and `e`, everything else packed in one binary field (see
//! `packed_entry`). [`decode_range`] reads both from an `XRANGE` reply, so a
//! partition may hold entries of both.
//!
//! How cursors are written is in `cursor_fields`.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use cluster::Compression;
use redis::Value;

use super::compression::{Codec, compress, decompress};
use super::keys::offset_of;
use super::packed_entry;
use crate::storage::{Millis, NewMessage, StorageError, StoredMessage};

/// Script arguments per message in an append.
pub(crate) const ARGS_PER_MESSAGE: usize = 9;

/// What Redis holds or answered is not what this module wrote. The Redis
/// storage's other files use this one; `compression` and `packed_entry` keep
/// their own, since this file reads them.
pub(super) fn corrupt(reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        reason: reason.into(),
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
    let (data, codec) = compress(&message.data, compression);
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
        codec.tag().as_bytes().to_vec(),
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
pub(super) struct EntryFields {
    data: Option<Vec<u8>>,
    attributes: Option<Vec<u8>>,
    ordering_key: Option<Vec<u8>>,
    priority: Option<Vec<u8>>,
    publish_time: Option<Vec<u8>>,
    deliver_at: Option<Vec<u8>>,
    expire_at: Option<Vec<u8>>,
    compression: Option<Vec<u8>>,
    /// Format 2: everything but `b` packed in one field.
    packed: Option<Vec<u8>>,
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
    let mut fields = EntryFields::default();
    let mut put = |name: Value, value: Value| -> Result<(), StorageError> {
        let name = match &name {
            Value::BulkString(bytes) => bytes.as_slice(),
            Value::SimpleString(text) => text.as_bytes(),
            other => return Err(corrupt(format!("field name {other:?}"))),
        };
        if let Some(slot) = fields.slot(name) {
            *slot = Some(into_bytes(value)?);
        }
        Ok(())
    };
    // Field by field, without collecting pairs first (this runs per message read).
    match values {
        Value::Array(items) => {
            let mut items = items.into_iter();
            while let (Some(name), Some(value)) = (items.next(), items.next()) {
                put(name, value)?;
            }
        }
        Value::Map(pairs) => {
            for (name, value) in pairs {
                put(name, value)?;
            }
        }
        other => return Err(corrupt(format!("fields of entry {id}: {other:?}"))),
    }
    decode_message(&id, fields)
}

impl EntryFields {
    /// Where the field `name` goes; `None` for a field no message is read
    /// from (`b`, bytes before, read by the scripts only).
    pub(super) fn slot(&mut self, name: &[u8]) -> Option<&mut Option<Vec<u8>>> {
        Some(match name {
            b"e" => &mut self.packed,
            b"d" => &mut self.data,
            b"a" => &mut self.attributes,
            b"k" => &mut self.ordering_key,
            b"p" => &mut self.priority,
            b"t" => &mut self.publish_time,
            b"da" => &mut self.deliver_at,
            b"ea" => &mut self.expire_at,
            b"z" => &mut self.compression,
            _ => return None,
        })
    }
}

/// The message of the entry `id` with `fields`, in either format.
pub(super) fn decode_message(
    id: &str,
    fields: EntryFields,
) -> Result<Arc<StoredMessage>, StorageError> {
    let offset = offset_of(id).ok_or_else(|| corrupt(format!("stream id {id:?}")))?;
    if let Some(packed) = fields.packed {
        return packed_entry::decode(offset, packed, id).map(Arc::new);
    }
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
        let codec = Codec::from_tag(&tag).ok_or_else(|| {
            corrupt(format!(
                "entry {id}: unknown compression {:?}",
                String::from_utf8_lossy(&tag)
            ))
        })?;
        if codec != Codec::Plain {
            data = decompress(&data, codec, id)?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn format_2_entries_decode_and_a_format_1_reader_refuses_them() {
        let message = NewMessage {
            data: Bytes::from_static(b"hello"),
            attributes: BTreeMap::from([("x".to_owned(), "y".to_owned())]),
            ordering_key: Some("eu".to_owned()),
            priority: 3,
            publish_time_millis: 1700,
            deliver_at_millis: None,
            expire_at_millis: Millis::new(1900),
        };
        let packed = packed_entry::encode(&message, Compression::None).expect("encodes");
        let entry = |with_e: bool| {
            let mut fields = vec![bulk("b"), bulk("0")];
            if with_e {
                fields.extend([bulk("e"), Value::BulkString(packed.clone())]);
            }
            Value::Array(vec![Value::Array(vec![bulk("0-5"), Value::Array(fields)])])
        };
        let decoded = decode_range(entry(true)).expect("decodes");
        assert_eq!(decoded[0].offset, 4);
        assert_eq!(decoded[0].message, message);
        // A version that knows only format 1 skips the unknown `e` field as
        // this one skips `b`, and then misses `p`: an error, not a wrong message.
        assert!(matches!(
            decode_range(entry(false)),
            Err(StorageError::Corrupt { reason }) if reason.contains("no field p")
        ));
    }
}

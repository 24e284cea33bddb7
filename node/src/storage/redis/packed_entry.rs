//! Entry format 2: a message's metadata and data packed in one stream field,
//! `e`, beside `b` (bytes appended before it, written by the append script).
//! One field instead of up to eight means one script argument per message
//! instead of nine, and a shorter `XRANGE` reply to parse.
//!
//! `e` is, with every integer big-endian:
//!
//! | bytes | holds |
//! |---|---|
//! | 1 | format, `2` |
//! | 8 | publish time (Unix ms) |
//! | 4 | size as counted by size bounds (uncompressed data and attributes) |
//! | 1 | priority |
//! | 1 | flags: bit 0 deliver-at, bit 1 expire-at, bit 2 ordering key, bit 3 attributes follow; bits 4–5 the codec of the data (0 none, 1 Snappy, 2 LZ4) |
//! | 8 | deliver-at (Unix ms), when bit 0 |
//! | 8 | expire-at (Unix ms), when bit 1 |
//! | 4 + n | the ordering key's length and UTF-8 bytes, when bit 2 |
//! | 4 + … | the attribute count, then per attribute its name and its value, each as a 4-byte length and UTF-8 bytes, when bit 3 |
//! | rest | the data, compressed by the codec |
//!
//! The Lua scripts read the publish time (bytes 2–9) and the size (bytes
//! 10–13) from `e` directly; `prelude.lua` has the one reader.

use std::collections::BTreeMap;

use bytes::Bytes;
use cluster::Compression;

use super::compression::{Codec, compress, decompress};
use crate::storage::{Millis, NewMessage, StorageError, StoredMessage};

/// The first byte of every format-2 `e` field.
pub(crate) const FORMAT_BYTE: u8 = 2;

const DELIVER_AT: u8 = 1;
const EXPIRE_AT: u8 = 1 << 1;
const ORDERING_KEY: u8 = 1 << 2;
const ATTRIBUTES: u8 = 1 << 3;
const CODEC_SHIFT: u8 = 4;
/// Every flag bit this version knows.
const KNOWN_FLAGS: u8 = 0b0011_1111;

fn corrupt(reason: String) -> StorageError {
    StorageError::Corrupt { reason }
}

fn put_text(out: &mut Vec<u8>, text: &str) -> Result<(), StorageError> {
    let len = u32::try_from(text.len()).map_err(|_| corrupt("text over 4 GiB".to_owned()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// The `e` field of `message`, its data compressed under `compression`.
pub(crate) fn encode(
    message: &NewMessage,
    compression: Compression,
) -> Result<Vec<u8>, StorageError> {
    let (data, codec) = compress(&message.data, compression);
    let size = u32::try_from(message.size())
        .map_err(|_| corrupt(format!("a message of {} bytes", message.size())))?;
    let mut flags = codec.code() << CODEC_SHIFT;
    let mut out = Vec::with_capacity(15 + 16 + data.len() + 64);
    out.push(FORMAT_BYTE);
    out.extend_from_slice(&message.publish_time_millis.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.push(message.priority);
    let flags_at = out.len();
    out.push(0);
    if let Some(at) = message.deliver_at_millis {
        flags |= DELIVER_AT;
        out.extend_from_slice(&at.get().to_be_bytes());
    }
    if let Some(at) = message.expire_at_millis {
        flags |= EXPIRE_AT;
        out.extend_from_slice(&at.get().to_be_bytes());
    }
    if let Some(key) = &message.ordering_key {
        flags |= ORDERING_KEY;
        put_text(&mut out, key)?;
    }
    if !message.attributes.is_empty() {
        flags |= ATTRIBUTES;
        let count = u32::try_from(message.attributes.len())
            .map_err(|_| corrupt("too many attributes".to_owned()))?;
        out.extend_from_slice(&count.to_be_bytes());
        for (name, value) in &message.attributes {
            put_text(&mut out, name)?;
            put_text(&mut out, value)?;
        }
    }
    out[flags_at] = flags;
    out.extend_from_slice(&data);
    Ok(out)
}

/// Reads `e` front to back; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    entry: &'a str,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StorageError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(corrupt(format!("entry {} ends early", self.entry)));
        };
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, StorageError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, StorageError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, StorageError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn text(&mut self) -> Result<String, StorageError> {
        let len = self.u32()? as usize;
        let entry = self.entry;
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| corrupt(format!("entry {entry}: text is not UTF-8")))
    }
}

/// The message at `offset` from its `e` field (stream id `entry`, for errors).
/// An uncompressed payload is not copied: the data shares `packed`'s buffer.
pub(crate) fn decode(
    offset: u64,
    packed: Vec<u8>,
    entry: &str,
) -> Result<StoredMessage, StorageError> {
    let mut r = Reader {
        bytes: &packed,
        at: 0,
        entry,
    };
    let format = r.u8()?;
    if format != FORMAT_BYTE {
        return Err(corrupt(format!(
            "entry {entry} is in format {format}, which this version cannot read"
        )));
    }
    let publish_time_millis = r.u64()?;
    let _size = r.u32()?;
    let priority = r.u8()?;
    let flags = r.u8()?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(corrupt(format!(
            "entry {entry} has unknown flags {flags:#04x}"
        )));
    }
    let codec = Codec::from_code(flags >> CODEC_SHIFT)
        .ok_or_else(|| corrupt(format!("entry {entry} has an unknown codec")))?;
    let deliver_at_millis = if flags & DELIVER_AT != 0 {
        Millis::new(r.u64()?)
    } else {
        None
    };
    let expire_at_millis = if flags & EXPIRE_AT != 0 {
        Millis::new(r.u64()?)
    } else {
        None
    };
    let ordering_key = if flags & ORDERING_KEY != 0 {
        Some(r.text()?)
    } else {
        None
    };
    let mut attributes = BTreeMap::new();
    if flags & ATTRIBUTES != 0 {
        for _ in 0..r.u32()? {
            let name = r.text()?;
            attributes.insert(name, r.text()?);
        }
    }
    let data_at = r.at;
    let data = match codec {
        Codec::Plain => Bytes::from(packed).slice(data_at..),
        codec => Bytes::from(decompress(&packed[data_at..], codec, entry)?),
    };
    Ok(StoredMessage {
        offset,
        message: NewMessage {
            data,
            attributes,
            ordering_key,
            priority,
            publish_time_millis,
            deliver_at_millis,
            expire_at_millis,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> NewMessage {
        NewMessage {
            data: Bytes::from_static(b"hello"),
            attributes: BTreeMap::from([
                ("region".to_owned(), "eu".to_owned()),
                ("ü".to_owned(), String::new()),
            ]),
            ordering_key: Some("customer 7".to_owned()),
            priority: 7,
            publish_time_millis: 1_700_000_000_123,
            deliver_at_millis: Millis::new(1_700_000_001_000),
            expire_at_millis: Millis::new(1_700_000_009_000),
        }
    }

    #[test]
    fn messages_round_trip_with_and_without_every_optional_part() {
        let full = message();
        let bare = NewMessage {
            attributes: BTreeMap::new(),
            ordering_key: None,
            deliver_at_millis: None,
            expire_at_millis: None,
            ..message()
        };
        let large = NewMessage {
            data: Bytes::from(b"order 42 shipped; ".repeat(200)),
            ..message()
        };
        for original in [full, bare, large] {
            for compression in [Compression::None, Compression::Snappy, Compression::Lz4] {
                let packed = encode(&original, compression).expect("encodes");
                assert_eq!(packed[0], FORMAT_BYTE);
                let size = u32::from_be_bytes([packed[9], packed[10], packed[11], packed[12]]);
                assert_eq!(size as usize, original.size(), "the size the script reads");
                let decoded = decode(41, packed, "0-42").expect("decodes");
                assert_eq!(decoded.offset, 41);
                assert_eq!(decoded.message, original, "{compression:?}");
            }
        }
    }

    #[test]
    fn damaged_fields_are_corrupt_not_misread() {
        let packed = encode(&message(), Compression::None).expect("encodes");
        let mut unknown_format = packed.clone();
        unknown_format[0] = 3;
        let mut unknown_flag = packed.clone();
        unknown_flag[14] |= 0x80;
        let mut bad_codec = packed.clone();
        bad_codec[14] |= 3 << CODEC_SHIFT;
        for bad in [
            Vec::new(),
            packed[..20].to_vec(),
            unknown_format,
            unknown_flag,
            bad_codec,
        ] {
            assert!(
                matches!(decode(0, bad, "0-1"), Err(StorageError::Corrupt { .. })),
                "must be refused"
            );
        }
    }
}

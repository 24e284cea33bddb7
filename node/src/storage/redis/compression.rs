//! Payload compression of stored messages: a topic's codec applies to data of
//! at least [`COMPRESS_FROM_BYTES`], and only when the result is smaller.
//! Both entry formats (see `field_encoding` and `packed_entry`) name the codec
//! a payload was stored with; size limits always count uncompressed bytes.

use cluster::Compression;
use cluster::topic::MAX_MESSAGE_BYTES;

use crate::storage::StorageError;

/// Smallest payload worth compressing: below it the codecs rarely save much
/// and the CPU is better spent elsewhere.
pub(crate) const COMPRESS_FROM_BYTES: usize = 1024;

/// How a stored payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Stored as is.
    Plain,
    /// A raw Snappy block.
    Snappy,
    /// An LZ4 block behind its little-endian u32 length.
    Lz4,
}

impl Codec {
    /// The format-1 `z` field (empty when stored as is).
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Codec::Plain => "",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
        }
    }

    /// The codec of a format-1 `z` field.
    pub(crate) fn from_tag(tag: &[u8]) -> Option<Self> {
        match tag {
            b"" => Some(Codec::Plain),
            b"snappy" => Some(Codec::Snappy),
            b"lz4" => Some(Codec::Lz4),
            _ => None,
        }
    }

    /// The format-2 code (two bits of the flags byte).
    pub(crate) fn code(self) -> u8 {
        match self {
            Codec::Plain => 0,
            Codec::Snappy => 1,
            Codec::Lz4 => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Codec::Plain),
            1 => Some(Codec::Snappy),
            2 => Some(Codec::Lz4),
            _ => None,
        }
    }
}

fn corrupt(reason: String) -> StorageError {
    StorageError::Corrupt { reason }
}

/// `data` as stored under `compression`, and the codec it ended up in.
pub(crate) fn compress(data: &[u8], compression: Compression) -> (Vec<u8>, Codec) {
    if data.len() < COMPRESS_FROM_BYTES {
        return (data.to_vec(), Codec::Plain);
    }
    let (packed, codec) = match compression {
        Compression::None => return (data.to_vec(), Codec::Plain),
        Compression::Snappy => match snap::raw::Encoder::new().compress_vec(data) {
            Ok(packed) => (packed, Codec::Snappy),
            Err(_) => return (data.to_vec(), Codec::Plain),
        },
        Compression::Lz4 => (lz4_flex::block::compress_prepend_size(data), Codec::Lz4),
    };
    if packed.len() < data.len() {
        (packed, codec)
    } else {
        (data.to_vec(), Codec::Plain)
    }
}

/// A stored payload back to the message's data. The declared length is
/// checked against [`MAX_MESSAGE_BYTES`] before anything is allocated.
pub(crate) fn decompress(
    stored: &[u8],
    codec: Codec,
    entry: &str,
) -> Result<Vec<u8>, StorageError> {
    let too_large = |len: usize| {
        corrupt(format!(
            "entry {entry} declares {len} uncompressed bytes, more than any message"
        ))
    };
    let bad = |e: String| corrupt(format!("entry {entry}: {e}"));
    match codec {
        Codec::Plain => Ok(stored.to_vec()),
        Codec::Snappy => {
            let len = snap::raw::decompress_len(stored).map_err(|e| bad(e.to_string()))?;
            if len > MAX_MESSAGE_BYTES as usize {
                return Err(too_large(len));
            }
            snap::raw::Decoder::new()
                .decompress_vec(stored)
                .map_err(|e| bad(e.to_string()))
        }
        Codec::Lz4 => {
            let len = stored
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| bad("lz4 block without its length".to_owned()))?;
            if len > MAX_MESSAGE_BYTES {
                return Err(too_large(len as usize));
            }
            lz4_flex::block::decompress_size_prepended(stored).map_err(|e| bad(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_payloads_compress_and_come_back_whole() {
        let large: Vec<u8> = b"order 42 shipped; ".repeat(200);
        for compression in [Compression::Snappy, Compression::Lz4] {
            let (stored, codec) = compress(&large, compression);
            assert!(
                codec != Codec::Plain && stored.len() < large.len(),
                "{compression:?}"
            );
            assert_eq!(
                decompress(&stored, codec, "0-1").expect("decompress"),
                large
            );
            assert_eq!(Codec::from_tag(codec.tag().as_bytes()), Some(codec));
            assert_eq!(Codec::from_code(codec.code()), Some(codec));
        }
        let small = b"tiny".to_vec();
        assert_eq!(compress(&small, Compression::Lz4), (small, Codec::Plain));
        assert!(decompress(&[0xff; 8], Codec::Lz4, "0-1").is_err());
        assert_eq!(Codec::from_tag(b"zstd"), None);
        assert_eq!(Codec::from_code(3), None);
    }
}

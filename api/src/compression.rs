//! Compressed request bodies (`Content-Encoding`).
//!
//! - `snappy`: one raw Snappy block (the format Prometheus remote-write uses);
//!   the uncompressed length is read from the block header and checked first.
//! - `lz4`: the LZ4 frame format (what the `lz4` command line tool writes).
//!
//! Both decoders stop at a caller-given size limit, so a small body cannot
//! expand without bound.

use std::io::Read;

use thiserror::Error;

/// A body encoding a publish request may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Snappy,
    Lz4,
}

/// Why a compressed body could not be decoded.
#[derive(Debug, Error)]
pub enum DecompressError {
    #[error("unsupported Content-Encoding {0:?}: use identity, snappy or lz4")]
    Unsupported(String),
    #[error("body expands beyond the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("body is not valid {encoding}: {reason}")]
    Corrupt {
        encoding: &'static str,
        reason: String,
    },
}

impl Compression {
    /// The `Content-Encoding` value; `None` for identity.
    pub fn from_header(value: &str) -> Result<Option<Self>, DecompressError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(None),
            "snappy" => Ok(Some(Self::Snappy)),
            "lz4" => Ok(Some(Self::Lz4)),
            other => Err(DecompressError::Unsupported(other.to_owned())),
        }
    }

    pub fn header_value(self) -> &'static str {
        match self {
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
        }
    }

    pub fn compress(self, body: &[u8]) -> Vec<u8> {
        match self {
            Self::Snappy => snap::raw::Encoder::new()
                .compress_vec(body)
                .unwrap_or_else(|_| unreachable!("snappy accepts any input below 4 GiB")),
            Self::Lz4 => {
                let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
                std::io::Write::write_all(&mut encoder, body)
                    .and_then(|()| encoder.finish().map_err(std::io::Error::other))
                    .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"))
            }
        }
    }

    pub fn decompress(self, body: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
        match self {
            Self::Snappy => {
                let corrupt = |e: snap::Error| DecompressError::Corrupt {
                    encoding: "snappy",
                    reason: e.to_string(),
                };
                let len = snap::raw::decompress_len(body).map_err(corrupt)?;
                if len > limit {
                    return Err(DecompressError::TooLarge { limit });
                }
                snap::raw::Decoder::new()
                    .decompress_vec(body)
                    .map_err(corrupt)
            }
            Self::Lz4 => {
                let mut out = Vec::new();
                lz4_flex::frame::FrameDecoder::new(body)
                    .take(limit as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| DecompressError::Corrupt {
                        encoding: "lz4",
                        reason: e.to_string(),
                    })?;
                if out.len() > limit {
                    return Err(DecompressError::TooLarge { limit });
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_codecs_round_trip() {
        let body = b"{\"messages\":[{\"data\":\"aGVsbG8=\"}]}".repeat(50);
        for codec in [Compression::Snappy, Compression::Lz4] {
            let packed = codec.compress(&body);
            assert!(
                packed.len() < body.len(),
                "{codec:?} should shrink repetitive input"
            );
            assert_eq!(
                codec.decompress(&packed, body.len()).expect("decodes"),
                body
            );
        }
    }

    #[test]
    fn limits_and_corruption_are_reported() {
        let body = vec![b'x'; 10_000];
        for codec in [Compression::Snappy, Compression::Lz4] {
            let packed = codec.compress(&body);
            assert!(matches!(
                codec.decompress(&packed, 9_999),
                Err(DecompressError::TooLarge { limit: 9_999 })
            ));
            assert!(matches!(
                codec.decompress(b"definitely not compressed", 100),
                Err(DecompressError::Corrupt { .. })
            ));
        }
        assert!(matches!(
            Compression::from_header("gzip"),
            Err(DecompressError::Unsupported(_))
        ));
    }
}

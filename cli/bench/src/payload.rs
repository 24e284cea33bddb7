//! The bench payload: a fixed 24-byte header, then filler up to the message size.
//!
//! ```text
//! 0      4          8                16               24           size
//! | PSGB | producer | sequence (u64) | sent at (u64)  | filler ... |
//! ```
//!
//! All integers are little-endian. `sent at` is nanoseconds since the run's start,
//! read from one monotonic clock by producers and consumers of the same process, so
//! end-to-end latency needs no synchronised clocks. The filler is pseudo-random so a
//! compressed run is not flattered by a payload of zeros.

use thiserror::Error;

/// Marks a bench payload, so a stray message on a reused topic is told apart.
const MAGIC: [u8; 4] = *b"PSGB";
/// Bytes of the header; the smallest message a run can send.
pub const HEADER_BYTES: usize = 24;

/// Who sent a message, its place in that producer's sequence, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Index of the producer, from 0.
    pub producer: u32,
    /// Sequence number within the producer, from 0, without gaps.
    pub sequence: u64,
    /// Nanoseconds since the start of the run when the message was handed to the broker.
    pub sent_at_nanos: u64,
}

/// Why bytes are not a bench payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayloadError {
    #[error("payload of {len} bytes is shorter than the {HEADER_BYTES}-byte bench header")]
    TooShort { len: usize },
    #[error("payload does not start with the bench marker PSGB")]
    NotBench,
}

/// Filler bytes for messages of `size` bytes: made once per run, copied into each message.
pub fn filler(size: usize) -> Vec<u8> {
    // xorshift64: cheap, deterministic, and incompressible enough for LZ4 and Snappy.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size.saturating_sub(HEADER_BYTES))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A payload of `HEADER_BYTES + filler.len()` bytes carrying `stamp`.
pub fn encode(stamp: Stamp, filler: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES + filler.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&stamp.producer.to_le_bytes());
    bytes.extend_from_slice(&stamp.sequence.to_le_bytes());
    bytes.extend_from_slice(&stamp.sent_at_nanos.to_le_bytes());
    bytes.extend_from_slice(filler);
    bytes
}

/// The stamp at the start of a payload; the filler is not checked.
pub fn decode(bytes: &[u8]) -> Result<Stamp, PayloadError> {
    let header = bytes
        .get(..HEADER_BYTES)
        .ok_or(PayloadError::TooShort { len: bytes.len() })?;
    if header[..4] != MAGIC {
        return Err(PayloadError::NotBench);
    }
    let mut producer = [0; 4];
    producer.copy_from_slice(&header[4..8]);
    let mut sequence = [0; 8];
    sequence.copy_from_slice(&header[8..16]);
    let mut sent_at = [0; 8];
    sent_at.copy_from_slice(&header[16..24]);
    Ok(Stamp {
        producer: u32::from_le_bytes(producer),
        sequence: u64::from_le_bytes(sequence),
        sent_at_nanos: u64::from_le_bytes(sent_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_survives_encoding_at_every_size() {
        let stamp = Stamp {
            producer: 3,
            sequence: u64::MAX - 1,
            sent_at_nanos: 123_456_789,
        };
        for size in [HEADER_BYTES, 25, 256, 4096] {
            let payload = encode(stamp, &filler(size));
            assert_eq!(payload.len(), size);
            assert_eq!(decode(&payload), Ok(stamp));
        }
    }

    #[test]
    fn short_and_foreign_payloads_are_refused() {
        assert_eq!(decode(b"PSGB"), Err(PayloadError::TooShort { len: 4 }));
        assert_eq!(decode(&[0; 32]), Err(PayloadError::NotBench));
    }

    #[test]
    fn filler_is_not_a_run_of_one_byte() {
        let filler = filler(256);
        assert_eq!(filler.len(), 256 - HEADER_BYTES);
        let distinct: std::collections::BTreeSet<u8> = filler.iter().copied().collect();
        assert!(
            distinct.len() > 100,
            "only {} distinct bytes",
            distinct.len()
        );
    }
}

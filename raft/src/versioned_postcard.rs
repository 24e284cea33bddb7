//! The one encoding this crate writes, to disk and to peers: postcard behind a
//! one-byte format version. The node's storage calls between peers use it too.
//!
//! postcard is not self-describing, so a changed type cannot decode old bytes.
//! The version byte lets a future release recognise (and migrate) what an
//! older one wrote, or a newer peer sent, instead of misreading it.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format every value is written in today.
pub const FORMAT_V1: u8 = 1;

/// Encodes `value` as `[FORMAT_V1, postcard bytes...]`.
pub fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_extend(value, vec![FORMAT_V1])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Decodes what [`encode`] wrote; an unknown version is an error, not a guess.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => {
            postcard::from_bytes(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        }
        Some((version, _)) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("encoded value has unknown format version {version}"),
        )),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "encoded value is empty",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let bytes = encode(&(7u64, "seven".to_owned())).expect("encode");
        assert_eq!(bytes[0], FORMAT_V1);
        let back: (u64, String) = decode(&bytes).expect("decode");
        assert_eq!(back, (7, "seven".to_owned()));

        let mut future = bytes.clone();
        future[0] = 2;
        assert!(decode::<(u64, String)>(&future).is_err());
        assert!(decode::<(u64, String)>(&[]).is_err());
    }
}

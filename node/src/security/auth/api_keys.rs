//! [`ApiKeys`]: the principals that authenticate with an API key, read from
//! the API keys file. The file holds SHA-256 hashes only, so reading it (or
//! the Secret it comes from) does not reveal a key:
//!
//! ```yaml
//! keys:
//!   - principal: orders-service
//!     sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! ```
//!
//! `printf %s "$KEY" | sha256sum` gives the hash. A plain SHA-256 (no salt, no
//! slow hash) is enough because API keys are long random strings the broker
//! never lets users choose: a password hash (bcrypt, argon2) defends
//! low-entropy secrets against guessing, which a 32-byte random key does not
//! need, and would cost milliseconds on every request. Lookup is by hash, so
//! the time it takes depends on the hash of the presented key, not on how
//! much of a real key it shares.

use std::collections::HashMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Principals by the SHA-256 of their key.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    by_hash: HashMap<[u8; 32], String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    principal: String,
    sha256: String,
}

impl ApiKeys {
    /// Reads an API keys file's YAML.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let file: KeysFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut by_hash = HashMap::new();
        for entry in file.keys {
            let hash = decode_hex(&entry.sha256).ok_or_else(|| {
                format!(
                    "the key of {:?} is not 64 hex digits of a SHA-256",
                    entry.principal
                )
            })?;
            if by_hash.insert(hash, entry.principal.clone()).is_some() {
                return Err(format!(
                    "two entries have the hash of {:?}'s key",
                    entry.principal
                ));
            }
        }
        Ok(Self { by_hash })
    }

    /// The principal whose key is `key`.
    pub fn principal(&self, key: &str) -> Option<&str> {
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        self.by_hash.get(&hash).map(String::as_str)
    }
}

/// The SHA-256 of `key` in lowercase hex, as the API keys file holds it.
pub fn hash_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_by_its_hash_and_only_by_it() {
        let file = format!(
            "keys:\n  - principal: orders\n    sha256: {}\n",
            hash_hex("s3cret-key")
        );
        let keys = ApiKeys::parse(&file).expect("keys");
        assert_eq!(keys.principal("s3cret-key"), Some("orders"));
        assert_eq!(keys.principal("s3cret-kez"), None);
        assert_eq!(
            keys.principal(&hash_hex("s3cret-key")),
            None,
            "the hash is not the key"
        );
    }

    #[test]
    fn malformed_hashes_are_refused() {
        assert!(ApiKeys::parse("keys: [ { principal: a, sha256: abc } ]").is_err());
        assert!(ApiKeys::parse("keys: [ { principal: a, key: abc } ]").is_err());
    }
}

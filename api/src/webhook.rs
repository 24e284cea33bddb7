//! Push request signatures per [Standard Webhooks]: a signature over the
//! message id and a timestamp together with the body, so a captured request
//! cannot be replayed later (its timestamp ages out) or under another id.
//!
//! Each push request of a subscription with a secret carries:
//! - [`ID_HEADER`] `webhook-id`: `<subscription>/<messageId>`, the same on
//!   every redelivery of the message, so a receiver can drop duplicates;
//! - [`TIMESTAMP_HEADER`] `webhook-timestamp`: when this attempt was signed,
//!   in integer seconds since the Unix epoch;
//! - [`SIGNATURE_HEADER`] `webhook-signature`: `v1,<base64>` of the
//!   HMAC-SHA256 of `<id>.<timestamp>.<body>`; during a secret rotation one
//!   such signature per secret, separated by spaces.
//!
//! **Secrets.** A subscription's `pushConfig.secret` holds one secret, or two
//! separated by a space while rotating (`"whsec_new whsec_old"`): the broker
//! signs with both, so receivers may switch at their own pace. A secret
//! written `whsec_<base64>` is keyed by the decoded bytes (Standard Webhooks'
//! format, what its libraries take); any other secret by its UTF-8 bytes.
//!
//! **Receiving** ([`verify`]): take the raw body before parsing JSON; refuse a
//! timestamp more than [`DEFAULT_TOLERANCE`] from now (either way); recompute
//! the signature with each secret the receiver holds and accept when any
//! `v1,` entry of the header matches (constant-time comparison); then refuse
//! an id already seen within the tolerance window. The last step is the
//! receiver's own memory, which no stateless check can replace.
//!
//! [Standard Webhooks]: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The message's id, stable across redeliveries.
pub const ID_HEADER: &str = "webhook-id";
/// Unix seconds when the attempt was signed.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Space-separated `v1,<base64>` signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// How far a timestamp may be from the receiver's clock (Standard Webhooks'
/// recommendation).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// The prefix of a base64 secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the webhook-timestamp is {0} s from now, beyond the tolerance")]
    OutsideTolerance(i64),
    #[error("no signature matches any secret")]
    NoMatch,
}

/// The HMAC keys of a `pushConfig.secret` value: one per space-separated secret.
pub fn keys(secret_field: &str) -> Vec<Vec<u8>> {
    secret_field
        .split_whitespace()
        .map(|secret| match secret.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => STANDARD
                .decode(encoded)
                .unwrap_or_else(|_| secret.as_bytes().to_vec()),
            None => secret.as_bytes().to_vec(),
        })
        .collect()
}

/// The [`SIGNATURE_HEADER`] value: one `v1,<base64>` per key.
pub fn sign(keys: &[Vec<u8>], id: &str, timestamp: u64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            let tag = mac(key, id, &timestamp.to_string(), body)
                .finalize()
                .into_bytes();
            format!("v1,{}", STANDARD.encode(tag))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a received request: its timestamp within `tolerance` of `now`
/// (Unix seconds) and one of its signatures made by one of `keys`. Replays
/// of a fresh request under the same id are the caller's to refuse.
pub fn verify(
    keys: &[Vec<u8>],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: u64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let sent: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::BadTimestamp)?;
    let skew = sent as i64 - now as i64;
    if skew.unsigned_abs() > tolerance.as_secs() {
        return Err(WebhookError::OutsideTolerance(skew));
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    let matched = keys.iter().any(|key| {
        candidates.iter().any(|candidate| {
            mac(key, id, timestamp.trim(), body)
                .verify_slice(candidate)
                .is_ok()
        })
    });
    if matched {
        Ok(())
    } else {
        Err(WebhookError::NoMatch)
    }
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|e| unreachable!("HMAC accepts keys of any length: {e}"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: u64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_reference_example_signs_and_verifies() {
        let keys = keys(SECRET);
        assert_eq!(sign(&keys, ID, TIMESTAMP, BODY), SIGNATURE);
        let verified = verify(
            &keys,
            ID,
            "1614265330",
            SIGNATURE,
            BODY,
            TIMESTAMP + 10,
            DEFAULT_TOLERANCE,
        );
        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn old_timestamps_other_ids_bodies_or_secrets_are_refused() {
        let keys = keys(SECRET);
        let check = |id: &str, body: &[u8], now: u64| {
            verify(
                &keys,
                id,
                "1614265330",
                SIGNATURE,
                body,
                now,
                DEFAULT_TOLERANCE,
            )
        };
        assert_eq!(
            check(ID, BODY, TIMESTAMP + 301),
            Err(WebhookError::OutsideTolerance(-301))
        );
        assert_eq!(
            check(ID, BODY, TIMESTAMP - 301),
            Err(WebhookError::OutsideTolerance(301))
        );
        assert_eq!(
            check("msg_other", BODY, TIMESTAMP),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(check(ID, b"{}", TIMESTAMP), Err(WebhookError::NoMatch));
        let other = super::keys("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            verify(
                &other,
                ID,
                "1614265330",
                SIGNATURE,
                BODY,
                TIMESTAMP,
                DEFAULT_TOLERANCE
            ),
            Err(WebhookError::NoMatch)
        );
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let both = keys("whsec_bmV3LXNlY3JldA== old-plain-secret");
        assert_eq!(both.len(), 2);
        let header = sign(&both, ID, TIMESTAMP, BODY);
        assert_eq!(header.split(' ').count(), 2);
        for one in [&both[..1], &both[1..]] {
            assert_eq!(
                verify(
                    one,
                    ID,
                    "1614265330",
                    &header,
                    BODY,
                    TIMESTAMP,
                    DEFAULT_TOLERANCE
                ),
                Ok(())
            );
        }
    }
}

//! The push contract: what the broker POSTs to a push subscription's endpoint.
//!
//! Each message is one `POST` with `Content-Type: application/json` and a
//! [`PushRequest`] body, in Google Pub/Sub's push format:
//! `{"message": {…}, "subscription": "<name>", "deliveryAttempt": n}`, where
//! `message` is the same object a pull returns. A 2xx answer acknowledges the
//! message; any other status, a failed connection or a timeout nacks it.
//!
//! When the subscription has a secret, the request carries
//! [`SIGNATURE_HEADER`]`: sha256=<hex>`: the lowercase hex HMAC-SHA256 of the
//! exact body bytes, keyed by the secret's UTF-8 bytes (the scheme GitHub
//! webhooks use). A receiver recomputes it over the raw body, before parsing
//! JSON, and compares in constant time; [`verify`] does that.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::types::Message;

/// The header that carries a push request's signature.
pub const SIGNATURE_HEADER: &str = "X-PubSubGo-Signature";
/// What precedes the hex digest in [`SIGNATURE_HEADER`].
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// The body of each push request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// The message, exactly as a pull would return it.
    pub message: Message,
    /// The name of the push subscription.
    pub subscription: String,
    /// 1 on first delivery, then one more for every redelivery.
    pub delivery_attempt: u32,
}

/// The [`SIGNATURE_HEADER`] value for `body`: `sha256=` and the lowercase hex
/// HMAC-SHA256 of `body` keyed by `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let digest = mac(secret, body).finalize().into_bytes();
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 2 * digest.len());
    out.push_str(SIGNATURE_PREFIX);
    for byte in digest.iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Whether `header` is a valid [`SIGNATURE_HEADER`] value for `body` under
/// `secret`. Compares in constant time; hex digits may be in either case.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix(SIGNATURE_PREFIX) else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    mac(secret, body).verify_slice(&expected).is_ok()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|e| unreachable!("HMAC accepts keys of any length: {e}"));
    mac.update(body);
    mac
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2.
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const EXPECTED: &str =
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn signature_matches_rfc_4231() {
        assert_eq!(signature(KEY, DATA), EXPECTED);
    }

    #[test]
    fn verify_accepts_the_signature_and_rejects_anything_else() {
        assert!(verify(KEY, DATA, EXPECTED));
        assert!(verify(
            KEY,
            DATA,
            &EXPECTED.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify(b"jefe", DATA, EXPECTED), "other key");
        assert!(
            !verify(KEY, b"what do ya want for nothing!", EXPECTED),
            "other body"
        );
        assert!(
            !verify(KEY, DATA, &EXPECTED["sha256=".len()..]),
            "no prefix"
        );
        assert!(
            !verify(KEY, DATA, &EXPECTED[..EXPECTED.len() - 2]),
            "truncated"
        );
        assert!(!verify(KEY, DATA, "sha256=zz"), "not hex");
        assert!(!verify(KEY, DATA, ""), "empty");
    }

    #[test]
    fn body_uses_google_pubsub_field_names() {
        let json = serde_json::json!({
            "message": {
                "messageId": "0-7",
                "data": "aGk=",
                "priority": 4,
                "publishTime": "2024-01-01T00:00:00Z",
                "partition": 0,
                "offset": 7
            },
            "subscription": "hooks",
            "deliveryAttempt": 2
        });
        let request: PushRequest = serde_json::from_value(json.clone()).expect("decodes");
        assert_eq!(request.delivery_attempt, 2);
        assert_eq!(serde_json::to_value(&request).expect("encodes"), json);
    }
}

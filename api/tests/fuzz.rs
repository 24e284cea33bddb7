//! Fuzzing on stable Rust: property tests that feed the client contract's
//! input parsers arbitrary and mutated input and check they answer (an
//! error is fine) without panicking, and that what they accept round-trips.
//! cargo-fuzz needs a nightly compiler; these run in the ordinary test
//! command, bounded by proptest's case count (256 per property by default, a
//! few seconds in all). A longer run raises it:
//! `PROPTEST_CASES=200000 cargo test --release -p pubsubgo-api --test fuzz`
//! (see `docs/security.md`, "Fuzzing").

use std::time::Duration;

use api::binary;
use api::compression::Compression;
use api::frames::{ClientFrame, PublishFrame};
use api::types::PublishRequest;
use api::{Problem, webhook};
use proptest::prelude::*;

/// JSON-ish text: the characters JSON is made of, with the field names the
/// parsers know, so the parsers get past the first byte.
fn json_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"messages\"".to_owned()),
        Just("\"data\"".to_owned()),
        Just("\"attributes\"".to_owned()),
        Just("\"orderingKey\"".to_owned()),
        Just("\"priority\"".to_owned()),
        Just("\"type\"".to_owned()),
        Just("\"ack\"".to_owned()),
        Just("\"credit\"".to_owned()),
        Just("\"ackIds\"".to_owned()),
        Just("\"status\"".to_owned()),
        Just("\"code\"".to_owned()),
        "\"[A-Za-z0-9+/=]{0,12}\"",
        "-?[0-9]{1,20}(\\.[0-9]{1,5})?",
        Just("null".to_owned()),
        Just("true".to_owned()),
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// A valid publish request's JSON with one byte changed.
fn mutated_publish() -> impl Strategy<Value = Vec<u8>> {
    let valid = br#"{"messages":[{"data":"aGVsbG8=","attributes":{"k":"v"},"orderingKey":"o","priority":7}]}"#;
    (0..valid.len(), any::<u8>()).prop_map(move |(at, byte)| {
        let mut bytes = valid.to_vec();
        bytes[at] = byte;
        bytes
    })
}

proptest! {
    #[test]
    fn publish_json_decoding_never_panics(text in json_like(), bytes in any::<Vec<u8>>(), mutated in mutated_publish()) {
        for input in [text.as_bytes(), &bytes, &mutated] {
            if let Ok(request) = serde_json::from_slice::<PublishRequest>(input) {
                let again = serde_json::to_vec(&request).expect("encodes");
                let decoded: PublishRequest = serde_json::from_slice(&again).expect("round-trips");
                prop_assert_eq!(decoded, request);
            }
        }
    }

    #[test]
    fn websocket_text_frames_never_panic(text in json_like(), bytes in any::<Vec<u8>>()) {
        for input in [text.as_bytes(), &bytes] {
            let _ = serde_json::from_slice::<ClientFrame>(input);
            let _ = serde_json::from_slice::<PublishFrame>(input);
        }
    }

    #[test]
    fn binary_frames_never_panic(bytes in any::<Vec<u8>>(), kind in 0u8..5) {
        let _ = binary::decode(&bytes);
        let mut framed = vec![kind];
        framed.extend_from_slice(&bytes);
        let _ = binary::decode(&framed);
    }

    #[test]
    fn compressed_bodies_never_panic_nor_exceed_the_limit(bytes in any::<Vec<u8>>(), body in any::<Vec<u8>>(), limit in 0usize..4096) {
        for compression in [Compression::Snappy, Compression::Lz4] {
            if let Ok(out) = compression.decompress(&bytes, limit) {
                prop_assert!(out.len() <= limit);
            }
            let packed = compression.compress(&body);
            prop_assert_eq!(compression.decompress(&packed, body.len()).ok(), Some(body.clone()));
        }
    }

    #[test]
    fn content_encoding_headers_never_panic(value in ".{0,40}") {
        let _ = Compression::from_header(&value);
    }

    #[test]
    fn problem_bodies_never_panic(text in json_like(), bytes in any::<Vec<u8>>()) {
        let _ = serde_json::from_str::<Problem>(&text);
        let _ = serde_json::from_slice::<Problem>(&bytes);
    }

    #[test]
    fn webhook_verification_accepts_only_the_signed_request(
        id in "[a-z0-9/]{1,30}",
        body in any::<Vec<u8>>(),
        timestamp in ".{0,24}",
        signatures in ".{0,120}",
        flip in any::<prop::sample::Index>(),
    ) {
        let keys = webhook::keys("whsec_c2VjcmV0");
        let now = 1_700_000_000;
        let tolerance = Duration::from_secs(300);
        let _ = webhook::verify(&keys, &id, &timestamp, &signatures, &body, now, tolerance);
        let signed = webhook::sign(&keys, &id, now, &body);
        prop_assert!(webhook::verify(&keys, &id, &now.to_string(), &signed, &body, now, tolerance).is_ok());
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[flip.index(body.len())] ^= 1;
            prop_assert!(webhook::verify(&keys, &id, &now.to_string(), &signed, &changed, now, tolerance).is_err());
        }
    }
}

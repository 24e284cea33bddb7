//! Publish JSON decoding: `POST :publish` bodies and the WebSocket text
//! frames (`:stream`'s client frames, `:publishStream`'s publish frames).
//! Any input is answered without a panic; an accepted publish request
//! encodes and decodes back to itself.
#![no_main]

use api::frames::{ClientFrame, PublishFrame};
use api::types::PublishRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<PublishRequest>(input) {
        let again = serde_json::to_vec(&request).expect("a decoded request encodes");
        let decoded: PublishRequest = serde_json::from_slice(&again).expect("and decodes again");
        assert_eq!(decoded, request);
    }
    let _ = serde_json::from_slice::<ClientFrame>(input);
    let _ = serde_json::from_slice::<PublishFrame>(input);
});

//! Binary WebSocket frames (`api::binary`: a kind byte, then postcard). Any
//! input is answered without a panic; a decoded frame encodes to bytes that
//! decode to the same frame.
#![no_main]

use api::binary::{self, Frame, Kind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(frame) = binary::decode(input) else {
        return;
    };
    let encoded = match &frame {
        Frame::Publish(batch) => binary::encode(Kind::Publish, batch),
        Frame::Published(published) => binary::encode(Kind::Published, published),
        Frame::Deliveries(deliveries) => binary::encode(Kind::Deliveries, deliveries),
    };
    assert_eq!(binary::decode(&encoded).as_ref(), Ok(&frame));
});

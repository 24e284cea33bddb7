//! Ack ids as clients send them back (`:acknowledge`, `:nack`,
//! `:modifyAckDeadline`). Any text is answered without a panic; an accepted
//! id prints to text that parses to the same id, and attempt 0 is never
//! accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node::broker::ack_id::AckId;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(id) = text.parse::<AckId>() else {
        return;
    };
    assert!(id.attempt >= 1);
    assert_eq!(id.to_string().parse::<AckId>(), Ok(id));
});

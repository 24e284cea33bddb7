//! Compressed request bodies (`Content-Encoding: snappy` or `lz4`). The
//! first byte picks the codec, the next two the size limit; the rest is the
//! body. Decompression answers without a panic and never returns more than
//! the limit; compressing the body and decompressing it is the identity.
#![no_main]

use api::compression::Compression;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [codec, high, low, body @ ..] = input else {
        return;
    };
    let compression = if codec % 2 == 0 {
        Compression::Snappy
    } else {
        Compression::Lz4
    };
    let limit = usize::from(u16::from_be_bytes([*high, *low]));
    if let Ok(out) = compression.decompress(body, limit) {
        assert!(
            out.len() <= limit,
            "{} bytes over a limit of {limit}",
            out.len()
        );
    }
    let packed = compression.compress(body);
    let unpacked = compression.decompress(&packed, body.len());
    assert_eq!(unpacked.ok().as_deref(), Some(body));
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = Compression::from_header(text);
    }
});

//! Request body codecs: a compressed publish body is decoded once per request.
//!
//! Two 100-message publish bodies with 256-byte payloads: `text` (similar
//! text in every message, as JSON events are) and `random` (distinct
//! pseudo-random bytes, close to the worst case for both codecs).

use std::hint::black_box;

use api::compression::Compression;
use api::types::{PublishMessage, PublishRequest};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn text_payload(i: u64) -> Vec<u8> {
    let text = format!(
        "{{\"order\":{i},\"status\":\"shipped\",\"note\":\"{}\"}}",
        "the quick brown fox jumps over the lazy dog ".repeat(6)
    );
    text.as_bytes()[..256].to_vec()
}

fn random_payload(i: u64) -> Vec<u8> {
    // xorshift64, seeded per message.
    let mut state = 0x9e37_79b9_7f4a_7c15 ^ (i + 1).wrapping_mul(0xff51_afd7_ed55_8ccd);
    (0..256)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn body(payload: fn(u64) -> Vec<u8>) -> Vec<u8> {
    let request = PublishRequest {
        messages: (0..100)
            .map(|i| PublishMessage {
                data: payload(i).into(),
                ..Default::default()
            })
            .collect(),
    };
    serde_json::to_vec(&request).expect("a publish request serializes")
}

fn codecs(c: &mut Criterion) {
    let mut group = c.benchmark_group("compression");
    for (kind, body) in [
        ("text", body(text_payload)),
        ("random", body(random_payload)),
    ] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        for codec in [Compression::Snappy, Compression::Lz4] {
            let packed = codec.compress(&body);
            let name = format!("{kind}/{}", codec.header_value());
            group.bench_with_input(BenchmarkId::new("compress", &name), &body, |b, body| {
                b.iter(|| codec.compress(black_box(body)));
            });
            group.bench_with_input(
                BenchmarkId::new("decompress", &name),
                &packed,
                |b, packed| {
                    b.iter(|| {
                        codec
                            .decompress(black_box(packed), body.len())
                            .expect("the body decodes")
                    });
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);

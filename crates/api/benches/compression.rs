//! Request body codecs: a compressed publish body is decoded once per request.

use std::hint::black_box;

use api::compression::Compression;
use api::types::{PublishMessage, PublishRequest};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A 100-message publish body with 256-byte text payloads: what `bench --batch 100
/// --compression` sends.
fn body() -> Vec<u8> {
    let request = PublishRequest {
        messages: (0..100)
            .map(|i| PublishMessage {
                data: format!(
                    "{i:08} {}",
                    "the quick brown fox jumps over the lazy dog ".repeat(6)
                )[..256]
                    .into(),
                ..Default::default()
            })
            .collect(),
    };
    serde_json::to_vec(&request).expect("a publish request serializes")
}

fn codecs(c: &mut Criterion) {
    let body = body();
    let mut group = c.benchmark_group("compression");
    group.throughput(Throughput::Bytes(body.len() as u64));
    for codec in [Compression::Snappy, Compression::Lz4] {
        let name = codec.header_value();
        let packed = codec.compress(&body);
        group.bench_with_input(BenchmarkId::new("compress", name), &body, |b, body| {
            b.iter(|| codec.compress(black_box(body)));
        });
        group.bench_with_input(
            BenchmarkId::new("decompress", name),
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
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);

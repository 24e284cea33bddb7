//! Decoding a publish request body: JSON plus base64 payloads, once per publish.

use std::hint::black_box;

use api::types::PublishRequest;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A request body of `count` messages with `size`-byte payloads, as clients send it.
fn body(count: usize, size: usize) -> Vec<u8> {
    let payload = (0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    let request = PublishRequest {
        messages: (0..count)
            .map(|_| api::types::PublishMessage {
                data: payload.clone().into(),
                ..Default::default()
            })
            .collect(),
    };
    serde_json::to_vec(&request).expect("a publish request serializes")
}

fn publish_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish_decode");
    for (count, size) in [(1, 256), (100, 256), (1, 4096), (100, 4096)] {
        let body = body(count, size);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{count}x{size}B")),
            &body,
            |b, body| {
                b.iter(|| {
                    serde_json::from_slice::<PublishRequest>(black_box(body))
                        .expect("the body decodes")
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, publish_decode);
criterion_main!(benches);

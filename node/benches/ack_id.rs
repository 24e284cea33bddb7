//! Ack ids: one is written per delivered message and parsed per ack.

use std::hint::black_box;

use cluster::Epoch;
use criterion::{Criterion, criterion_group, criterion_main};
use node::broker::ack_id::AckId;

fn ack_id(c: &mut Criterion) {
    let id = AckId {
        partition: 3,
        offset: 12_345_678,
        attempt: 1,
        epoch: Epoch::new(7),
    };
    let text = id.to_string();
    c.bench_function("ack_id/encode", |b| b.iter(|| black_box(&id).encode()));
    c.bench_function("ack_id/parse", |b| {
        b.iter(|| black_box(text.as_str()).parse::<AckId>())
    });
}

criterion_group!(benches, ack_id);
criterion_main!(benches);

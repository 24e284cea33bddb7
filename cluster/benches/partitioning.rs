//! Partition choice for an ordering key: runs once per keyed message on publish.

use std::hint::black_box;

use cluster::partitioning::partition_for_key;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn partition_choice(c: &mut Criterion) {
    let mut group = c.benchmark_group("partition_for_key");
    for key in ["user-42", "tenant-7/order-1234567890", &"k".repeat(256)] {
        group.bench_with_input(BenchmarkId::from_parameter(key.len()), key, |b, key| {
            b.iter(|| partition_for_key(black_box(key), black_box(16)));
        });
    }
    group.finish();
}

criterion_group!(benches, partition_choice);
criterion_main!(benches);

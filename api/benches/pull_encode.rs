//! Writing a pull's answer: once per pull, a message's JSON per message
//! delivered. `serde_json` (what the server wrote before) against the
//! hand-written writer it uses now (`PullResponse::to_json`).

use std::collections::BTreeMap;
use std::hint::black_box;

use api::types::{Message, PullResponse, ReceivedMessage};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// An answer of `count` messages with `size`-byte payloads, as the server
/// delivers them (ack id, message id and publish time as it writes them).
fn answer(count: usize, size: usize) -> PullResponse {
    let payload = (0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    PullResponse {
        received_messages: (0..count)
            .map(|i| ReceivedMessage {
                ack_id: format!("3.{}.1.7", 12_345_678 + i),
                message: Message {
                    message_id: api::types::message_id(3, 12_345_678 + i as u64),
                    data: payload.clone().into(),
                    attributes: BTreeMap::new(),
                    ordering_key: None,
                    priority: 4,
                    publish_time: "2026-12-07T05:41:02.123Z".to_owned(),
                    deliver_time: None,
                    expire_time: None,
                    partition: 3,
                    offset: 12_345_678 + i as u64,
                },
                delivery_attempt: 1,
                generation: None,
            })
            .collect(),
    }
}

fn pull_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("pull_encode");
    for (count, size) in [(1, 256), (100, 256), (100, 4096)] {
        let answer = answer(count, size);
        group.throughput(Throughput::Elements(count as u64));
        let label = format!("{count}x{size}B");
        group.bench_with_input(
            BenchmarkId::new("serde_json", &label),
            &answer,
            |b, answer| {
                b.iter(|| serde_json::to_vec(black_box(answer)).expect("serializes"));
            },
        );
        group.bench_with_input(BenchmarkId::new("to_json", &label), &answer, |b, answer| {
            b.iter(|| black_box(answer).to_json());
        });
    }
    group.finish();
}

criterion_group!(benches, pull_encode);
criterion_main!(benches);

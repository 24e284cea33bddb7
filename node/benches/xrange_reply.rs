//! The reply of a lease's `XRANGE … COUNT 64` on Redis storage (entry format 2:
//! fields `e`, the packed message with a 256 B payload, and `b`, the bytes
//! appended before it), read two ways: by redis-rs's parser into its generic
//! `Value` tree, as the broker reads it today, and by a walk that copies each
//! entry's id and field value and builds nothing else, the least any reader
//! must do. The difference is what a reply reader without `Value`s could save
//! per message (BENCHMARKS.md, "What a packed read would cost Redis").

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ENTRIES: usize = 64;
const PAYLOAD: usize = 256;
/// A format-2 entry's packed header before the payload (packed_entry.rs).
const HEADER: usize = 15;

/// The RESP2 bytes of an `XRANGE` reply of `ENTRIES` format-2 entries.
fn reply() -> Vec<u8> {
    let mut out = format!("*{ENTRIES}\r\n").into_bytes();
    for i in 0..ENTRIES {
        let id = format!("0-{}", 1_000_000 + i);
        let value = vec![b'x'; HEADER + PAYLOAD];
        let appended = (i * (HEADER + PAYLOAD)).to_string();
        out.extend_from_slice(
            format!("*2\r\n${}\r\n{id}\r\n*4\r\n$1\r\ne\r\n", id.len()).as_bytes(),
        );
        out.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
        out.extend_from_slice(&value);
        out.extend_from_slice(
            format!("\r\n$1\r\nb\r\n${}\r\n{appended}\r\n", appended.len()).as_bytes(),
        );
    }
    out
}

/// The number after a one-byte type marker at `at`, and where its line ends.
fn header(bytes: &[u8], at: usize) -> (usize, usize) {
    let end = at + bytes[at..].iter().position(|&b| b == b'\r').expect("CRLF");
    let n = std::str::from_utf8(&bytes[at + 1..end])
        .expect("ascii")
        .parse()
        .expect("number");
    (n, end + 2)
}

/// A bulk string at `at`: its bytes and where the next element starts.
fn bulk(bytes: &[u8], at: usize) -> (&[u8], usize) {
    let (len, start) = header(bytes, at);
    (&bytes[start..start + len], start + len + 2)
}

/// Every entry's id, `e` value and `b` number, copied or parsed; no other allocation.
fn walk(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    let (count, mut at) = header(bytes, 0);
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let (_, next) = header(bytes, at);
        let (id, next) = bulk(bytes, next);
        let (_, next) = header(bytes, next);
        let (_, next) = bulk(bytes, next);
        let (value, next) = bulk(bytes, next);
        let (_, next) = bulk(bytes, next);
        let (appended, next) = bulk(bytes, next);
        let appended = std::str::from_utf8(appended)
            .expect("ascii")
            .parse()
            .expect("number");
        entries.push((id.to_vec(), value.to_vec(), appended));
        at = next;
    }
    entries
}

fn xrange_reply(c: &mut Criterion) {
    let bytes = reply();
    assert_eq!(walk(&bytes).len(), ENTRIES);
    assert!(
        matches!(redis::parse_redis_value(&bytes), Ok(redis::Value::Array(a)) if a.len() == ENTRIES)
    );
    let mut group = c.benchmark_group("xrange_reply");
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("redis_value_tree", |b| {
        b.iter(|| redis::parse_redis_value(black_box(&bytes)))
    });
    group.bench_function("walk_copying_id_and_fields", |b| {
        b.iter(|| walk(black_box(&bytes)))
    });
    group.finish();
}

criterion_group!(benches, xrange_reply);
criterion_main!(benches);

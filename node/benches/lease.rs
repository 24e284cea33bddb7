//! A pull on a partition with a backlog: the cursor's lease, on memory storage.
//!
//! The partition holds 100,000 unacked messages (all priority 4, or mixed
//! priorities); each timed step leases `max` messages. Between steps (untimed)
//! the leased messages are acked and as many new ones appended, so every step
//! sees the same backlog.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use node::storage::memory::MemoryStorage;
use node::storage::{
    DeliveryPolicy, DeliveryRef, LeaseRequest, MessageLog, NewMessage, PartitionRef,
    SubscriptionState,
};

const BACKLOG: u64 = 100_000;
const NOW: u64 = 1_700_000_000_000;

/// Priorities of the messages, by offset.
#[derive(Clone, Copy)]
enum Priorities {
    /// Every message has the default priority.
    AllFour,
    /// A spread of 0 to 9 (a fixed pseudo-random sequence).
    Mixed,
}

impl Priorities {
    fn name(self) -> &'static str {
        match self {
            Self::AllFour => "priority-4",
            Self::Mixed => "mixed",
        }
    }

    fn of(self, offset: u64) -> u8 {
        match self {
            Self::AllFour => 4,
            Self::Mixed => (offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60) as u8 % 10,
        }
    }
}

struct Backlog {
    storage: MemoryStorage,
    subscription: SubscriptionName,
    at: PartitionRef,
    priorities: Priorities,
    appended: u64,
}

impl Backlog {
    async fn new(priorities: Priorities) -> Self {
        let topic = TopicName::new("bench").expect("valid topic name");
        let subscription = SubscriptionName::new("bench-sub").expect("valid subscription name");
        let at = PartitionRef {
            topic: topic.clone(),
            partition: 0,
        };
        let storage = MemoryStorage::new();
        storage.create_topic(&topic, 1).await.expect("create topic");
        storage
            .create_subscription(&subscription, &topic, 1, StartPosition::Earliest)
            .await
            .expect("create subscription");
        let mut backlog = Self {
            storage,
            subscription,
            at,
            priorities,
            appended: 0,
        };
        backlog.append(BACKLOG).await;
        backlog
    }

    async fn append(&mut self, count: u64) {
        let messages = (self.appended..self.appended + count)
            .map(|offset| NewMessage {
                data: Bytes::from_static(&[0x61; 256]),
                attributes: BTreeMap::new(),
                ordering_key: None,
                priority: self.priorities.of(offset),
                publish_time_millis: NOW,
                deliver_at_millis: None,
                expire_at_millis: None,
            })
            .collect();
        self.storage
            .append(&self.at, messages)
            .await
            .expect("append");
        self.appended += count;
    }

    /// Leases `max` messages, returning how long the lease took.
    async fn step(&mut self, max: usize) -> Duration {
        let request = LeaseRequest {
            max_messages: max,
            now_millis: NOW,
            deadline_millis: NOW + 60_000,
            policy: DeliveryPolicy::default(),
        };
        let started = Instant::now();
        let outcome = self
            .storage
            .lease(&self.subscription, &self.at, request)
            .await
            .expect("lease");
        let took = started.elapsed();
        assert_eq!(outcome.leased.len(), max, "the backlog never runs dry");
        let refs: Vec<DeliveryRef> = black_box(outcome)
            .leased
            .iter()
            .map(|l| DeliveryRef {
                offset: l.message.offset,
                attempt: l.attempt,
            })
            .collect();
        self.storage
            .ack(&self.subscription, &self.at, &refs, NOW, false)
            .await
            .expect("ack");
        self.append(max as u64).await;
        took
    }
}

fn lease(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("lease_100k_backlog");
    for priorities in [Priorities::AllFour, Priorities::Mixed] {
        let mut backlog = runtime.block_on(Backlog::new(priorities));
        for max in [1, 10] {
            let id = BenchmarkId::new(priorities.name(), max);
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    runtime.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += backlog.step(max).await;
                        }
                        total
                    })
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lease);
criterion_main!(benches);

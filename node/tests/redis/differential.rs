//! Redis behaves exactly like memory: random sequences of storage calls run on
//! both backends side by side must give the same answers, including after the
//! Redis backend is dropped and rebuilt (a clean broker restart: held leases
//! are written, cursors come back from Redis, the message cache starts empty).

use node::storage::Millis;
use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use cluster::subscription::{DeliveryMode, RetryPolicy, StartPosition};
use cluster::{Retention, SubscriptionName, TopicName};
use node::storage::memory::MemoryStorage;
use node::storage::redis::{RedisSettings, RedisStorage};
use node::storage::{
    DeliveryPolicy, DeliveryRef, LeaseRequest, MessageLog, Nack, NewMessage, PartitionRef,
    RedriveFilter, SeekTarget, Storage, SubscriptionState,
};

use testkit::redis::{shared_standalone, standalone_settings};

const SEEDS: u64 = 24;
const STEPS: usize = 120;
const T0: u64 = 1_700_000_000_000;

/// A small deterministic generator (xorshift), so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Pair {
    memory: MemoryStorage,
    redis: RedisStorage,
    settings: RedisSettings,
    at: PartitionRef,
    sub: SubscriptionName,
}

impl Pair {
    /// A clean restart: what the owner holds only in memory is written first.
    async fn restart_redis(&mut self) {
        self.redis.write_held_state().await;
        self.redis = RedisStorage::connect(&self.settings)
            .await
            .expect("reconnect");
    }
}

async fn both<T: PartialEq + std::fmt::Debug>(
    what: &str,
    memory: impl std::future::Future<Output = T>,
    redis: impl std::future::Future<Output = T>,
) -> T {
    let (m, r) = (memory.await, redis.await);
    assert_eq!(m, r, "{what}: memory (left) and redis (right) differ");
    m
}

fn message(rng: &mut Rng, now: u64, n: u64) -> NewMessage {
    NewMessage {
        // Binary payloads (NUL, 0xFF, CR LF) and non-ASCII attributes round-trip.
        data: Bytes::from([format!("m{n}").into_bytes(), vec![0, 0xff, b'\r', b'\n']].concat()),
        attributes: BTreeMap::from([
            ("i".to_owned(), n.to_string()),
            ("région".to_owned(), "\"é\"\n".to_owned()),
        ]),
        ordering_key: rng.chance(70).then(|| format!("k{}", rng.below(4))),
        priority: rng.below(10) as u8,
        publish_time_millis: now,
        deliver_at_millis: rng
            .chance(15)
            .then(|| Millis::new(now + rng.below(3_000)))
            .flatten(),
        expire_at_millis: rng
            .chance(10)
            .then(|| Millis::new(now + rng.below(5_000)))
            .flatten(),
    }
}

async fn run(seed: u64) {
    let mut rng = Rng(seed * 7919 + 1);
    let settings = standalone_settings(shared_standalone().url());
    let mut pair = Pair {
        memory: MemoryStorage::new(),
        redis: RedisStorage::connect(&settings).await.expect("connect"),
        settings,
        at: PartitionRef {
            topic: TopicName::new("diff").expect("name"),
            partition: 0,
        },
        sub: SubscriptionName::new("sub").expect("name"),
    };
    let policy = DeliveryPolicy {
        ordered: rng.chance(50),
        retry: rng.chance(50).then_some(RetryPolicy {
            minimum_backoff_millis: 100,
            maximum_backoff_millis: 2_000,
        }),
        max_attempts: rng.chance(60).then_some(3),
        mode: if rng.chance(10) {
            DeliveryMode::ExactlyOnce
        } else {
            DeliveryMode::AtLeastOnce
        },
    };
    let exact = policy.mode == DeliveryMode::ExactlyOnce;
    for storage in [&pair.memory as &dyn Storage, &pair.redis] {
        storage
            .create_topic(&pair.at.topic, 1)
            .await
            .expect("topic");
        storage
            .create_subscription(&pair.sub, &pair.at.topic, 1, StartPosition::Earliest)
            .await
            .expect("subscription");
    }
    let mut now = T0;
    let mut published = 0u64;
    let mut delivered: Vec<DeliveryRef> = Vec::new();
    for step in 0..STEPS {
        let op = rng.below(100);
        let what = format!("seed {seed} step {step} op {op} policy {policy:?}");
        let (m, r, at, sub) = (&pair.memory, &pair.redis, &pair.at, &pair.sub);
        match op {
            0..20 => {
                let batch: Vec<NewMessage> = (0..1 + rng.below(40))
                    .map(|i| message(&mut rng, now, published + i))
                    .collect();
                published += batch.len() as u64;
                both(
                    &what,
                    async { m.append(at, batch.clone()).await.ok() },
                    async { r.append(at, batch.clone()).await.ok() },
                )
                .await;
            }
            20..45 => {
                let request = LeaseRequest {
                    max_messages: rng.below(30) as usize,
                    now_millis: now,
                    deadline_millis: now + 1_000,
                    policy,
                };
                let summary = |o: node::storage::LeaseOutcome| {
                    (
                        o.leased
                            .iter()
                            .map(|l| (l.message.offset, l.attempt, l.message.message.clone()))
                            .collect::<Vec<_>>(),
                        o.expired,
                        o.dead_lettered
                            .iter()
                            .map(|d| (d.message.offset, d.attempts, d.reason.clone()))
                            .collect::<Vec<_>>(),
                    )
                };
                let (leased, _, _) = both(
                    &what,
                    async { summary(m.lease(sub, at, request).await.expect("lease")) },
                    async { summary(r.lease(sub, at, request).await.expect("lease")) },
                )
                .await;
                delivered.extend(leased.iter().map(|(offset, attempt, _)| DeliveryRef {
                    offset: *offset,
                    attempt: *attempt,
                }));
            }
            45..60 if !delivered.is_empty() => {
                let d = [delivered[rng.below(delivered.len() as u64) as usize]];
                both(
                    &what,
                    async { m.ack(sub, at, &d, now, exact).await.expect("ack") },
                    async { r.ack(sub, at, &d, now, exact).await.expect("ack") },
                )
                .await;
            }
            60..68 if !delivered.is_empty() => {
                let d = [delivered[rng.below(delivered.len() as u64) as usize]];
                let nack = Nack {
                    delay_millis: rng.chance(30).then(|| rng.below(2_000)),
                    reason: rng.chance(50).then(|| "bad input".to_owned()),
                };
                let offsets = |dead: Vec<node::storage::DeadLetter>| {
                    dead.iter()
                        .map(|d| (d.message.offset, d.attempts, d.reason.clone()))
                        .collect::<Vec<_>>()
                };
                both(
                    &what,
                    async { offsets(m.nack(sub, at, &d, &nack, now, policy).await.expect("nack")) },
                    async { offsets(r.nack(sub, at, &d, &nack, now, policy).await.expect("nack")) },
                )
                .await;
            }
            68..72 if !delivered.is_empty() => {
                let d = [delivered[rng.below(delivered.len() as u64) as usize]];
                let deadline = now + 5_000;
                both(
                    &what,
                    async { m.extend(sub, at, &d, deadline, now).await.ok() },
                    async { r.extend(sub, at, &d, deadline, now).await.ok() },
                )
                .await;
            }
            72..82 => now += rng.below(2_500),
            82..85 => {
                let retention = Retention {
                    max_age_millis: None,
                    max_bytes_per_partition: Some(rng.below(400) + 50),
                    max_messages_per_partition: Some(rng.below(60) + 10),
                    ..Retention::default()
                };
                both(
                    &what,
                    async { m.trim(at, &retention, now).await.expect("trim") },
                    async { r.trim(at, &retention, now).await.expect("trim") },
                )
                .await;
            }
            85..88 => {
                both(
                    &what,
                    async {
                        m.redrive(sub, at, RedriveFilter::default(), 3, now, 10)
                            .await
                            .expect("redrive")
                    },
                    async {
                        r.redrive(sub, at, RedriveFilter::default(), 3, now, 10)
                            .await
                            .expect("redrive")
                    },
                )
                .await;
            }
            88..90 => {
                let key = format!("k{}", rng.below(4));
                both(
                    &what,
                    async { m.resume_key(sub, at, &key).await.expect("resume") },
                    async { r.resume_key(sub, at, &key).await.expect("resume") },
                )
                .await;
            }
            90..91 => {
                let target = match rng.below(3) {
                    0 => SeekTarget::Earliest,
                    1 => SeekTarget::Latest,
                    _ => SeekTarget::Time(T0 + rng.below(now - T0 + 1)),
                };
                both(&what, async { m.seek(sub, at, target).await.ok() }, async {
                    r.seek(sub, at, target).await.ok()
                })
                .await;
            }
            91..95 => pair.restart_redis().await,
            _ => {}
        }
        let (m, r) = (&pair.memory, &pair.redis);
        let after = format!("{what}, then reading state");
        both(
            &after,
            async { m.backlog(&pair.sub, &pair.at, now).await.expect("backlog") },
            async { r.backlog(&pair.sub, &pair.at, now).await.expect("backlog") },
        )
        .await;
        both(
            &after,
            async {
                m.next_wakeup(&pair.sub, &pair.at, now)
                    .await
                    .expect("wakeup")
            },
            async {
                r.next_wakeup(&pair.sub, &pair.at, now)
                    .await
                    .expect("wakeup")
            },
        )
        .await;
        both(
            &after,
            async { m.parked_keys(&pair.sub, &pair.at).await.expect("parked") },
            async { r.parked_keys(&pair.sub, &pair.at).await.expect("parked") },
        )
        .await;
        let letters = |dead: Vec<node::storage::DeadLetter>| {
            dead.iter()
                .map(|d| {
                    (
                        d.message.offset,
                        d.attempts,
                        d.reason.clone(),
                        d.dead_at_millis,
                    )
                })
                .collect::<Vec<_>>()
        };
        both(
            &after,
            async { letters(m.dead_letters(&pair.sub, &pair.at, 50).await.expect("dead")) },
            async { letters(r.dead_letters(&pair.sub, &pair.at, 50).await.expect("dead")) },
        )
        .await;
        both(
            &after,
            async { m.offsets(&pair.at).await.expect("offsets") },
            async { r.offsets(&pair.at).await.expect("offsets") },
        )
        .await;
    }
}

#[test_log::test(tokio::test)]
async fn random_call_sequences_give_the_same_answers_on_memory_and_redis() {
    let started = std::time::Instant::now();
    for seed in 0..SEEDS {
        run(seed).await;
    }
    assert!(started.elapsed() < Duration::from_secs(120));
}

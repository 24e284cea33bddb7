//! Change tracking is complete: after any sequence of calls, a cursor rebuilt
//! from the persisted changes equals the working copy.

use crate::storage::Millis;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use cluster::subscription::{DeliveryMode, RetryPolicy};
use proptest::prelude::*;

use super::{Cursor, LogView, OffsetState, Scalars};
use crate::storage::{
    CopiedDeadLetter, DeadLetter, DeliveryPolicy, DeliveryRef, LeaseRequest, Nack, NewMessage,
    RedriveFilter, StoredMessage,
};

#[derive(Debug)]
struct TestLog {
    start: u64,
    messages: Vec<Arc<StoredMessage>>,
}

impl LogView for TestLog {
    fn start(&self) -> u64 {
        self.start
    }
    fn end(&self) -> u64 {
        self.messages.len() as u64
    }
    fn get(&self, offset: u64) -> Option<&Arc<StoredMessage>> {
        if offset < self.start {
            return None;
        }
        self.messages.get(usize::try_from(offset).ok()?)
    }
}

/// What a backend keeps: the persisted form, updated only from [`Changes`].
#[derive(Debug, Default)]
struct Store {
    scalars: Scalars,
    offsets: BTreeMap<u64, OffsetState>,
    parked: BTreeSet<String>,
}

impl Store {
    fn write_through(&mut self, cursor: &mut Cursor) {
        let Some(changes) = cursor.take_changes() else {
            return;
        };
        if changes.reset {
            *self = Store::default();
        }
        for offset in changes.offsets {
            match cursor.state_of(offset) {
                Some(state) => self.offsets.insert(offset, state),
                None => self.offsets.remove(&offset),
            };
        }
        for key in changes.parked {
            if cursor.is_parked(&key) {
                self.parked.insert(key);
            } else {
                self.parked.remove(&key);
            }
        }
        if changes.scalars {
            self.scalars = cursor.scalars();
        }
    }

    fn restore(&self) -> Cursor {
        Cursor::restore(
            self.scalars,
            self.offsets.clone(),
            self.parked.iter().cloned(),
        )
    }
}

/// Everything observable about a cursor, without its change record.
fn state(c: &Cursor) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {} {:?} {:?} {:?} {} {}",
        c.next,
        c.leased,
        c.expiries,
        c.pending,
        c.dead,
        c.acked_below,
        c.acked,
        c.busy_keys.iter().collect::<BTreeMap<_, _>>(),
        c.parked,
        c.expired,
        c.served,
    )
}

#[derive(Debug, Clone)]
enum Op {
    Publish { count: u8, key: Option<u8> },
    Lease { max: u8 },
    Ack { pick: u8 },
    Nack { pick: u8 },
    Extend { pick: u8 },
    Advance { millis: u16 },
    Trim { by: u8 },
    Redrive,
    Copied { max: u8 },
    Resume { key: u8 },
    Seek { to: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..20u8, proptest::option::of(0..3u8)).prop_map(|(count, key)| Op::Publish { count, key }),
        (0..8u8).prop_map(|max| Op::Lease { max }),
        any::<u8>().prop_map(|pick| Op::Ack { pick }),
        any::<u8>().prop_map(|pick| Op::Nack { pick }),
        any::<u8>().prop_map(|pick| Op::Extend { pick }),
        (0..15_000u16).prop_map(|millis| Op::Advance { millis }),
        (0..5u8).prop_map(|by| Op::Trim { by }),
        Just(Op::Redrive),
        (0..4u8).prop_map(|max| Op::Copied { max }),
        (0..3u8).prop_map(|key| Op::Resume { key }),
        any::<u8>().prop_map(|to| Op::Seek { to }),
    ]
}

fn policy(ordered: bool) -> DeliveryPolicy {
    DeliveryPolicy {
        ordered,
        retry: Some(RetryPolicy {
            minimum_backoff_millis: 100,
            maximum_backoff_millis: 2_000,
        }),
        max_attempts: Some(3),
        mode: DeliveryMode::AtLeastOnce,
    }
}

fn run(ops: Vec<Op>, ordered: bool) {
    let mut log = TestLog {
        start: 0,
        messages: Vec::new(),
    };
    let mut cursor = Cursor::tracked(0);
    let mut store = Store::default();
    let mut now = 1_000_000;
    let mut delivered: Vec<DeliveryRef> = Vec::new();
    let policy = policy(ordered);
    for op in ops {
        let label = format!("{op:?}");
        let pick = |pick: u8, delivered: &[DeliveryRef]| {
            (!delivered.is_empty()).then(|| delivered[pick as usize % delivered.len()])
        };
        match op {
            Op::Publish { count, key } => {
                for i in 0..count {
                    let offset = log.messages.len() as u64;
                    log.messages.push(Arc::new(StoredMessage {
                        offset,
                        message: NewMessage {
                            data: Bytes::from_static(b"x"),
                            attributes: BTreeMap::new(),
                            ordering_key: key.map(|k| format!("k{k}")),
                            priority: i % 10,
                            publish_time_millis: now,
                            deliver_at_millis: (i % 5 == 1)
                                .then(|| Millis::new(now + 500))
                                .flatten(),
                            expire_at_millis: (i % 7 == 2)
                                .then(|| Millis::new(now + 3_000))
                                .flatten(),
                        },
                    }));
                }
            }
            Op::Lease { max } => {
                let request = LeaseRequest {
                    max_messages: usize::from(max),
                    now_millis: now,
                    deadline_millis: now + 1_000,
                    policy,
                };
                let outcome = cursor.lease(&log, request);
                delivered.extend(outcome.leased.iter().map(|l| DeliveryRef {
                    offset: l.message.offset,
                    attempt: l.attempt,
                }));
            }
            Op::Ack { pick: p } => {
                if let Some(d) = pick(p, &delivered) {
                    cursor.ack(&[d], now, false);
                }
            }
            Op::Nack { pick: p } => {
                if let Some(d) = pick(p, &delivered) {
                    cursor.nack(&log, &[d], &Nack::default(), now, policy);
                }
            }
            Op::Extend { pick: p } => {
                if let Some(d) = pick(p, &delivered) {
                    cursor.extend(&[d], now + 5_000, now);
                }
            }
            Op::Advance { millis } => now += u64::from(millis),
            Op::Trim { by } => log.start = (log.start + u64::from(by)).min(log.end()),
            Op::Redrive => {
                cursor.redrive(&log, RedriveFilter::default(), 3, now, 10);
            }
            Op::Copied { max } => {
                let copied = copies(&cursor.outbox(&log, usize::from(max)));
                cursor.copied(&copied);
            }
            Op::Resume { key } => {
                cursor.resume_key(&format!("k{key}"));
            }
            Op::Seek { to } => {
                let span = log.end() - log.start + 1;
                cursor.seek(log.start + u64::from(to) % span);
            }
        }
        store.write_through(&mut cursor);
        assert_eq!(state(&store.restore()), state(&cursor), "after {label}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn restored_cursor_equals_the_working_copy(ops in prop::collection::vec(op(), 1..60), ordered in any::<bool>()) {
        run(ops, ordered);
    }
}

#[test]
fn untracked_cursor_records_nothing() {
    let mut cursor = Cursor::new(0);
    let d = DeliveryRef {
        offset: 0,
        attempt: 1,
    };
    cursor.ack(&[d], 0, false);
    cursor.seek(3);
    assert!(cursor.take_changes().is_none());
}

fn copies(dead: &[DeadLetter]) -> Vec<CopiedDeadLetter> {
    dead.iter()
        .map(|letter| CopiedDeadLetter {
            offset: letter.message.offset,
            dead_at_millis: letter.dead_at_millis,
        })
        .collect()
}

#[test]
fn a_dead_letter_stays_in_the_outbox_until_its_copy_is_stored() {
    let message = Arc::new(StoredMessage {
        offset: 0,
        message: NewMessage {
            data: Bytes::from_static(b"x"),
            attributes: BTreeMap::new(),
            ordering_key: None,
            priority: 4,
            publish_time_millis: 1,
            deliver_at_millis: None,
            expire_at_millis: None,
        },
    });
    let log = TestLog {
        start: 0,
        messages: vec![message],
    };
    let mut policy = policy(false);
    policy.max_attempts = Some(1);
    let mut cursor = Cursor::tracked(0);
    let mut store = Store::default();
    let lease = |now| LeaseRequest {
        max_messages: 1,
        now_millis: now,
        deadline_millis: now + 1_000,
        policy,
    };
    let first = DeliveryRef {
        offset: 0,
        attempt: 1,
    };

    tracing::info!("dead-lettered: in the outbox, durably");
    cursor.lease(&log, lease(10));
    let dead = cursor.nack(&log, &[first], &Nack::default(), 20, policy);
    store.write_through(&mut cursor);
    assert_eq!(copies(&dead), copies(&store.restore().outbox(&log, 10)));
    assert_eq!(cursor.outbox_reads(0), vec![0]);

    tracing::info!("redriven and dead again: a copy of the first death changes nothing");
    cursor.redrive(&log, RedriveFilter::default(), 1, 30, 0);
    cursor.lease(&log, lease(40));
    cursor.nack(&log, &[first], &Nack::default(), 50, policy);
    cursor.copied(&copies(&dead));
    assert_eq!(
        cursor.outbox(&log, 10).len(),
        1,
        "the second death's copy is pending"
    );

    tracing::info!("copied: out of the outbox, still dead and listed");
    cursor.copied(&copies(&cursor.outbox(&log, 10)));
    store.write_through(&mut cursor);
    let restored = store.restore();
    assert!(restored.outbox(&log, 10).is_empty());
    assert!(restored.outbox_reads(0).is_empty());
    assert_eq!(restored.dead_letters(&log, 10).len(), 1);
}

fn log_of(priorities: &[u8]) -> TestLog {
    let messages = priorities
        .iter()
        .enumerate()
        .map(|(offset, &priority)| {
            Arc::new(StoredMessage {
                offset: offset as u64,
                message: NewMessage::of_priority(priority),
            })
        })
        .collect();
    TestLog { start: 0, messages }
}

fn lease_of(max_messages: usize) -> LeaseRequest {
    LeaseRequest {
        max_messages,
        now_millis: 10,
        deadline_millis: 1_010,
        policy: policy(false),
    }
}

fn offsets(outcome: &crate::storage::LeaseOutcome) -> Vec<u64> {
    outcome.leased.iter().map(|l| l.message.offset).collect()
}

#[test]
fn a_lease_of_one_priority_leaves_the_messages_it_did_not_take_new() {
    let log = log_of(&[0; 50]);
    let mut cursor = Cursor::tracked(0);

    let first = cursor.lease(&log, lease_of(3));
    assert_eq!(offsets(&first), vec![0, 1, 2]);
    assert_eq!(
        cursor.next, 3,
        "the 47 looked at and not taken are new again"
    );
    assert!(cursor.pending.is_empty());
    let changes = cursor.take_changes().expect("tracked");
    assert_eq!(changes.offsets.len(), 3, "only the leases are written");

    let second = cursor.lease(&log, lease_of(2));
    assert_eq!(offsets(&second), vec![3, 4]);
    assert_eq!(cursor.next, 5);
}

#[test]
fn a_lease_that_takes_by_priority_keeps_the_others_pending() {
    let mut priorities = [0; 10];
    priorities[7] = 5;
    let log = log_of(&priorities);
    let mut cursor = Cursor::tracked(0);

    let first = cursor.lease(&log, lease_of(2));
    assert_eq!(
        offsets(&first),
        vec![0, 7],
        "the high priority, then the oldest"
    );
    assert_eq!(cursor.next, 10);
    assert_eq!(cursor.pending.len(), 8);

    let rest = cursor.lease(&log, lease_of(8));
    assert_eq!(offsets(&rest), vec![1, 2, 3, 4, 5, 6, 8, 9]);
}

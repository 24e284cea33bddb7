//! One subscription's delivery state on one partition, in memory.
//!
//! Every offset in `[acked_below, next)` is in exactly one of four places:
//! leased, pending (waiting for delivery: never delivered but held back, nacked,
//! expired, delayed), dead (dead-lettered), or acked (`acked`, plus everything
//! below `acked_below`). Offsets below the log's start were trimmed by retention
//! and are forgotten.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use cluster::subscription::DeliveryMode;
use xxhash_rust::xxh3::xxh3_64;

use super::partition_log::PartitionLog;
use crate::storage::{
    AckOutcome, Backlog, DeadLetter, DeliveryPolicy, DeliveryRef, FAIRNESS_PERIOD, LeaseOutcome,
    LeaseRequest, Leased, Nack, PRIORITY_WINDOW, RedriveFilter, SeekTarget, StoredMessage,
};

/// Most messages held in `pending`; keeps one hot ordering key or a pile of
/// delayed messages from pulling the whole backlog into memory indexes.
const MAX_PENDING: usize = 10_000;

/// Why a lease ended without an ack, for the dead-letter lineage.
const DEADLINE_EXPIRED: &str = "ack deadline expired";

#[derive(Debug)]
struct Lease {
    attempt: u32,
    deadline: u64,
    /// Set only when the lease holds an ordering key busy.
    busy_key: Option<String>,
}

#[derive(Debug)]
struct Pending {
    /// Deliveries so far (0: never delivered).
    attempts: u32,
    /// Not deliverable before this time.
    due: u64,
}

#[derive(Debug)]
struct Dead {
    attempts: u32,
    reason: Option<String>,
    at: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// First offset never looked at.
    next: u64,
    leased: BTreeMap<u64, Lease>,
    /// `(deadline, offset)` of every lease, to expire them in deadline order.
    expiries: BTreeSet<(u64, u64)>,
    pending: BTreeMap<u64, Pending>,
    dead: BTreeMap<u64, Dead>,
    /// Every offset below this is acked.
    acked_below: u64,
    /// Acked offsets at or above `acked_below`.
    acked: BTreeSet<u64>,
    /// Ordering keys with a leased message, with their lease count.
    busy_keys: HashMap<String, u32>,
    /// Ordering keys held back since one of their messages was dead-lettered.
    parked: BTreeSet<String>,
    /// Messages skipped because their TTL passed.
    expired: u64,
    /// Deliveries made, to apply the fairness rule.
    served: u64,
}

/// A deliverable message found by a scan.
struct Candidate {
    message: Arc<StoredMessage>,
    attempts: u32,
}

impl Cursor {
    /// A cursor whose first deliverable message is `start`.
    pub(crate) fn new(start: u64) -> Self {
        Self {
            next: start,
            acked_below: start,
            ..Self::default()
        }
    }

    pub(crate) fn lease(&mut self, log: &PartitionLog, request: LeaseRequest) -> LeaseOutcome {
        let now = request.now_millis;
        let policy = request.policy;
        let mut outcome = LeaseOutcome::default();
        self.forget_below(log.start());
        self.expire_leases(log, now, policy, &mut outcome.dead_lettered);
        if request.max_messages == 0 {
            return outcome;
        }
        let window = PRIORITY_WINDOW.max(request.max_messages);
        let (candidates, expired) = self.scan(log, now, policy.ordered, window);
        outcome.expired = expired;
        for (index, chosen) in self.choose(&candidates, request.max_messages) {
            let candidate = &candidates[index];
            if !chosen {
                if candidate.attempts == 0 && !self.pending.contains_key(&candidate.message.offset)
                {
                    // Looked at for priority but not taken: wait in pending.
                    self.pending.insert(
                        candidate.message.offset,
                        Pending {
                            attempts: 0,
                            due: now,
                        },
                    );
                }
                continue;
            }
            let offset = candidate.message.offset;
            self.pending.remove(&offset);
            let attempt = candidate.attempts + 1;
            if policy.mode == DeliveryMode::AtMostOnce {
                self.mark_acked(offset);
            } else {
                self.grant(
                    &candidate.message,
                    attempt,
                    request.deadline_millis,
                    policy.ordered,
                );
            }
            outcome.leased.push(Leased {
                message: candidate.message.clone(),
                attempt,
            });
        }
        outcome
    }

    /// Deliverable messages in offset order (pending first, then new ones), at
    /// most one per ordering key when ordered. Returns them and how many expired.
    fn scan(
        &mut self,
        log: &PartitionLog,
        now: u64,
        ordered: bool,
        window: usize,
    ) -> (Vec<Candidate>, u64) {
        let mut blocked: HashSet<String> = self.parked.iter().cloned().collect();
        let mut candidates = Vec::new();
        let mut expired = 0;
        let pending: Vec<(u64, u32, u64)> = self
            .pending
            .iter()
            .map(|(offset, p)| (*offset, p.attempts, p.due))
            .collect();
        for (offset, attempts, due) in pending {
            if candidates.len() >= window {
                break;
            }
            let Some(message) = log.get(offset).cloned() else {
                self.pending.remove(&offset);
                continue;
            };
            if is_expired(&message, now) {
                self.pending.remove(&offset);
                self.mark_acked(offset);
                expired += 1;
                continue;
            }
            if due > now {
                block(&message, ordered, &mut blocked);
                continue;
            }
            if self.is_blocked(&message, ordered, &mut blocked) {
                continue;
            }
            block(&message, ordered, &mut blocked);
            candidates.push(Candidate { message, attempts });
        }
        while candidates.len() < window && self.next < log.end() && self.pending.len() < MAX_PENDING
        {
            let offset = self.next;
            self.next += 1;
            let Some(message) = log.get(offset).cloned() else {
                continue;
            };
            if is_expired(&message, now) {
                self.mark_acked(offset);
                expired += 1;
                continue;
            }
            let delayed_until = message.message.deliver_at_millis.filter(|at| *at > now);
            if delayed_until.is_some() || self.is_blocked(&message, ordered, &mut blocked) {
                block(&message, ordered, &mut blocked);
                self.pending.insert(
                    offset,
                    Pending {
                        attempts: 0,
                        due: delayed_until.unwrap_or(now),
                    },
                );
                continue;
            }
            block(&message, ordered, &mut blocked);
            candidates.push(Candidate {
                message,
                attempts: 0,
            });
        }
        self.expired += expired;
        (candidates, expired)
    }

    /// Picks up to `max` candidates: highest priority first (oldest among equals),
    /// except every [`FAIRNESS_PERIOD`]th pick, which takes the oldest. Returns
    /// `(index, chosen)` for every candidate.
    fn choose(&mut self, candidates: &[Candidate], max: usize) -> Vec<(usize, bool)> {
        let mut by_priority: Vec<usize> = (0..candidates.len()).collect();
        by_priority
            .sort_by_key(|&i| (std::cmp::Reverse(candidates[i].message.message.priority), i));
        let mut chosen = vec![false; candidates.len()];
        let (mut oldest, mut best) = (0, 0);
        for _ in 0..max.min(candidates.len()) {
            let index = if self.served % FAIRNESS_PERIOD == FAIRNESS_PERIOD - 1 {
                while chosen[oldest] {
                    oldest += 1;
                }
                oldest
            } else {
                while chosen[by_priority[best]] {
                    best += 1;
                }
                by_priority[best]
            };
            chosen[index] = true;
            self.served += 1;
        }
        chosen.into_iter().enumerate().collect()
    }

    pub(crate) fn ack(&mut self, deliveries: &[DeliveryRef], now: u64, exact: bool) -> AckOutcome {
        let mut outcome = AckOutcome::default();
        for d in deliveries {
            let offset = d.offset;
            if offset < self.acked_below || self.acked.contains(&offset) {
                continue;
            }
            let current = self
                .leased
                .get(&offset)
                .is_some_and(|lease| lease.attempt == d.attempt && lease.deadline > now);
            let deliverable = offset < self.next && !self.dead.contains_key(&offset);
            if (exact && !current) || !deliverable {
                if exact {
                    outcome.stale.push(*d);
                }
                continue;
            }
            if let Some(lease) = self.leased.remove(&offset) {
                self.drop_lease_bookkeeping(offset, lease);
            }
            self.pending.remove(&offset);
            self.mark_acked(offset);
            outcome.newly_acked += 1;
        }
        outcome
    }

    pub(crate) fn extend(&mut self, deliveries: &[DeliveryRef], deadline: u64, now: u64) {
        for d in deliveries {
            let Some(lease) = self.leased.get_mut(&d.offset) else {
                continue;
            };
            if lease.attempt != d.attempt || lease.deadline <= now || deadline <= now {
                continue;
            }
            self.expiries.remove(&(lease.deadline, d.offset));
            lease.deadline = deadline;
            self.expiries.insert((deadline, d.offset));
        }
    }

    pub(crate) fn nack(
        &mut self,
        log: &PartitionLog,
        deliveries: &[DeliveryRef],
        nack: &Nack,
        now: u64,
        policy: DeliveryPolicy,
    ) -> Vec<DeadLetter> {
        let mut dead = Vec::new();
        for d in deliveries {
            let current = self
                .leased
                .get(&d.offset)
                .is_some_and(|lease| lease.attempt == d.attempt && lease.deadline > now);
            if !current {
                continue;
            }
            if let Some(lease) = self.leased.remove(&d.offset) {
                self.drop_lease_bookkeeping(d.offset, lease);
            }
            let retry = Retry {
                attempt: d.attempt,
                from: now,
                delay: nack.delay_millis,
                reason: nack.reason.clone(),
            };
            self.retry_or_bury(log, d.offset, retry, now, policy, &mut dead);
        }
        dead
    }

    pub(crate) fn backlog(&self, log: &PartitionLog, now: u64) -> Backlog {
        let start = log.start();
        let from = self.acked_below.max(start);
        let settled = self.acked.range(start..).count() + self.dead.range(start..).count();
        let oldest = [
            self.leased.range(start..).next().map(|(o, _)| *o),
            self.pending.range(start..).next().map(|(o, _)| *o),
            (self.next.max(start) < log.end()).then_some(self.next.max(start)),
        ]
        .into_iter()
        .flatten()
        .min();
        Backlog {
            unacked: log
                .end()
                .saturating_sub(from)
                .saturating_sub(settled as u64),
            outstanding: self
                .leased
                .range(start..)
                .filter(|(_, lease)| lease.deadline > now)
                .count() as u64,
            oldest_unacked_publish_millis: oldest
                .and_then(|o| log.get(o))
                .map(|m| m.message.publish_time_millis),
            expired: self.expired,
            dead_lettered: self.dead.range(start..).count() as u64,
        }
    }

    pub(crate) fn next_wakeup(&self, now: u64) -> Option<u64> {
        let lease = self.expiries.first().map(|(deadline, _)| *deadline);
        let due = self
            .pending
            .values()
            .map(|p| p.due)
            .filter(|due| *due > now)
            .min();
        [lease, due].into_iter().flatten().min()
    }

    pub(crate) fn dead_letters(&self, log: &PartitionLog, max: usize) -> Vec<DeadLetter> {
        self.dead
            .iter()
            .filter_map(|(offset, dead)| {
                Some(DeadLetter {
                    message: log.get(*offset)?.clone(),
                    attempts: dead.attempts,
                    reason: dead.reason.clone(),
                    dead_at_millis: dead.at,
                })
            })
            .take(max)
            .collect()
    }

    pub(crate) fn redrive(
        &mut self,
        log: &PartitionLog,
        filter: RedriveFilter,
        max: usize,
        now: u64,
        spacing: u64,
    ) -> u64 {
        let chosen: Vec<u64> = self
            .dead
            .iter()
            .filter(|(offset, dead)| {
                let Some(message) = log.get(**offset) else {
                    return false;
                };
                let published = message.message.publish_time_millis;
                filter.min_attempts.is_none_or(|min| dead.attempts >= min)
                    && filter.published_after_millis.is_none_or(|t| published >= t)
                    && filter.published_before_millis.is_none_or(|t| published < t)
            })
            .map(|(offset, _)| *offset)
            .take(max)
            .collect();
        for (i, offset) in chosen.iter().enumerate() {
            self.dead.remove(offset);
            if let Some(key) = log
                .get(*offset)
                .and_then(|m| m.message.ordering_key.as_ref())
            {
                self.parked.remove(key);
            }
            self.pending.insert(
                *offset,
                Pending {
                    attempts: 0,
                    due: now + i as u64 * spacing,
                },
            );
        }
        chosen.len() as u64
    }

    pub(crate) fn parked_keys(&self) -> Vec<String> {
        self.parked.iter().cloned().collect()
    }

    pub(crate) fn resume_key(&mut self, key: &str) -> bool {
        self.parked.remove(key)
    }

    pub(crate) fn seek(&mut self, log: &PartitionLog, target: SeekTarget) {
        let offset = match target {
            SeekTarget::Earliest => log.start(),
            SeekTarget::Latest => log.end(),
            SeekTarget::Time(millis) => log.first_published_at_or_after(millis),
        };
        *self = Self {
            expired: self.expired,
            served: self.served,
            ..Self::new(offset)
        };
    }

    fn is_blocked(
        &self,
        message: &StoredMessage,
        ordered: bool,
        blocked: &mut HashSet<String>,
    ) -> bool {
        let Some(key) = message.message.ordering_key.as_ref() else {
            return false;
        };
        if blocked.contains(key) || (ordered && self.busy_keys.contains_key(key)) {
            blocked.insert(key.clone());
            return true;
        }
        false
    }

    fn grant(&mut self, message: &StoredMessage, attempt: u32, deadline: u64, ordered: bool) {
        let offset = message.offset;
        let busy_key = message.message.ordering_key.clone().filter(|_| ordered);
        if let Some(key) = &busy_key {
            *self.busy_keys.entry(key.clone()).or_default() += 1;
        }
        self.expiries.insert((deadline, offset));
        self.leased.insert(
            offset,
            Lease {
                attempt,
                deadline,
                busy_key,
            },
        );
    }

    /// Ends leases whose deadline passed: each retries or is dead-lettered.
    fn expire_leases(
        &mut self,
        log: &PartitionLog,
        now: u64,
        policy: DeliveryPolicy,
        dead: &mut Vec<DeadLetter>,
    ) {
        while let Some(&(deadline, offset)) = self.expiries.first() {
            if deadline > now {
                break;
            }
            let Some(lease) = self.leased.remove(&offset) else {
                self.expiries.remove(&(deadline, offset));
                continue;
            };
            let attempt = lease.attempt;
            self.drop_lease_bookkeeping(offset, lease);
            let retry = Retry {
                attempt,
                from: deadline,
                delay: None,
                reason: Some(DEADLINE_EXPIRED.to_owned()),
            };
            self.retry_or_bury(log, offset, retry, now, policy, dead);
        }
    }

    /// After a failed delivery: pending again after the backoff, or dead when
    /// the attempts are used up (parking its ordering key when ordered).
    fn retry_or_bury(
        &mut self,
        log: &PartitionLog,
        offset: u64,
        retry: Retry,
        now: u64,
        policy: DeliveryPolicy,
        dead: &mut Vec<DeadLetter>,
    ) {
        if policy.max_attempts.is_some_and(|max| retry.attempt >= max) {
            let Some(message) = log.get(offset).cloned() else {
                return;
            };
            if policy.ordered
                && let Some(key) = &message.message.ordering_key
            {
                self.parked.insert(key.clone());
            }
            self.dead.insert(
                offset,
                Dead {
                    attempts: retry.attempt,
                    reason: retry.reason.clone(),
                    at: now,
                },
            );
            dead.push(DeadLetter {
                message,
                attempts: retry.attempt,
                reason: retry.reason,
                dead_at_millis: now,
            });
            return;
        }
        let backoff = retry.delay.unwrap_or_else(|| {
            policy.retry.map_or(0, |r| {
                r.backoff_millis(retry.attempt, jitter(offset, retry.attempt))
            })
        });
        self.pending.insert(
            offset,
            Pending {
                attempts: retry.attempt,
                due: retry.from + backoff,
            },
        );
    }

    fn mark_acked(&mut self, offset: u64) {
        self.acked.insert(offset);
        while self.acked.remove(&self.acked_below) {
            self.acked_below += 1;
        }
    }

    fn drop_lease_bookkeeping(&mut self, offset: u64, lease: Lease) {
        self.expiries.remove(&(lease.deadline, offset));
        if let Some(key) = lease.busy_key
            && let Some(count) = self.busy_keys.get_mut(&key)
        {
            *count -= 1;
            if *count == 0 {
                self.busy_keys.remove(&key);
            }
        }
    }

    /// Forgets offsets that retention removed from the log.
    fn forget_below(&mut self, start: u64) {
        if self.acked_below >= start && self.dead.first_key_value().is_none_or(|(o, _)| *o >= start)
        {
            return;
        }
        let trimmed: Vec<u64> = self.leased.range(..start).map(|(o, _)| *o).collect();
        for offset in trimmed {
            if let Some(lease) = self.leased.remove(&offset) {
                self.drop_lease_bookkeeping(offset, lease);
            }
        }
        self.pending = self.pending.split_off(&start);
        self.dead = self.dead.split_off(&start);
        self.acked = self.acked.split_off(&start);
        self.acked_below = self.acked_below.max(start);
        self.next = self.next.max(start);
        while self.acked.remove(&self.acked_below) {
            self.acked_below += 1;
        }
    }
}

/// A failed delivery on its way back to pending.
struct Retry {
    attempt: u32,
    /// The backoff counts from here: the nack, or the lease's deadline.
    from: u64,
    /// An explicit delay from the client, instead of the backoff.
    delay: Option<u64>,
    reason: Option<String>,
}

fn is_expired(message: &StoredMessage, now: u64) -> bool {
    message.message.expire_at_millis.is_some_and(|at| at <= now)
}

/// Marks `message`'s ordering key as taken for the rest of a scan (ordered only).
fn block(message: &StoredMessage, ordered: bool, blocked: &mut HashSet<String>) {
    if ordered && let Some(key) = &message.message.ordering_key {
        blocked.insert(key.clone());
    }
}

/// A stable jitter in `[0, 1)` per message and attempt, so retries of different
/// messages spread out without a random number generator.
fn jitter(offset: u64, attempt: u32) -> f64 {
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(&offset.to_le_bytes());
    bytes[8..].copy_from_slice(&attempt.to_le_bytes());
    (xxh3_64(&bytes) >> 11) as f64 / (1u64 << 53) as f64
}

//! One subscription's delivery state on one partition: the state machine every backend shares.
//!
//! Every offset in `[acked_below, next)` is in exactly one of four places:
//! leased, pending (waiting for delivery: never delivered but held back, nacked,
//! expired, delayed), dead (dead-lettered), or acked (`acked`, plus everything
//! below `acked_below`). Offsets below the log's start were trimmed by retention
//! and are forgotten.
//!
//! A `Cursor` works over any [`LogView`]: the memory backend passes its whole
//! partition log, the Redis backend a view of the messages it fetched for the
//! call. A tracked cursor ([`Cursor::tracked`]) also records what each call
//! changed ([`Changes`]), so a backend that keeps the cursor as a working copy
//! can write exactly those changes through to durable storage.
//!
//! - [`scan`](self::scan): finding deliverable messages and choosing by priority.
//! - [`changes`]: the change set and the per-offset state a backend persists.
//! - [`log_view`]: what the cursor needs from a partition's log.
//! - [`bookkeeping`]: every change to the cursor's maps, recorded when tracked.
//! - [`outbox`]: dead letters whose copy in the dead-letter topic is pending.

mod bookkeeping;
mod changes;
mod log_view;
mod outbox;
mod scan;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use cluster::subscription::DeliveryMode;
use xxhash_rust::xxh3::xxh3_64;

pub(crate) use self::changes::{Changes, OffsetState, Scalars};
pub(crate) use self::log_view::LogView;
use crate::storage::{
    AckOutcome, Backlog, DeadLetter, DeliveryPolicy, DeliveryRef, LeaseOutcome, LeaseRequest,
    Leased, Nack, RedriveFilter,
};

/// Most messages held in `pending`; keeps one hot ordering key or a pile of
/// delayed messages from pulling the whole backlog into memory indexes.
pub(crate) const MAX_PENDING: usize = 10_000;

/// Why a lease ended without an ack, for the dead-letter lineage.
const DEADLINE_EXPIRED: &str = "ack deadline expired";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Lease {
    attempt: u32,
    deadline: u64,
    /// Set only when the lease holds an ordering key busy.
    busy_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    /// Deliveries so far (0: never delivered).
    attempts: u32,
    /// Not deliverable before this time.
    due: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dead {
    attempts: u32,
    reason: Option<String>,
    at: u64,
    /// Its copy in the dead-letter topic is not stored yet: the outbox
    /// ([`outbox`]) holds it until the copy is.
    copy_pending: bool,
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
    /// What changed since the last [`Cursor::take_changes`]; `None` when untracked.
    changes: Option<Changes>,
    /// Changes recorded so far, never reset ([`Cursor::edits`]).
    edits: u64,
}

impl Cursor {
    /// A cursor whose first deliverable message is `start`, recording no changes.
    pub(crate) fn new(start: u64) -> Self {
        Self {
            next: start,
            acked_below: start,
            ..Self::default()
        }
    }

    /// Like [`Cursor::new`], but recording every change for [`Cursor::take_changes`]
    /// (backends get tracked cursors from [`Cursor::restore`]).
    #[cfg(test)]
    pub(crate) fn tracked(start: u64) -> Self {
        Self {
            changes: Some(Changes::default()),
            ..Self::new(start)
        }
    }

    /// Every offset below this is acked.
    pub(crate) fn acked_below(&self) -> u64 {
        self.acked_below
    }

    /// Offsets this cursor keeps state for (leased, pending, dead, acked
    /// above `acked_below`): what its memory grows with.
    pub(crate) fn entries(&self) -> usize {
        self.leased.len() + self.pending.len() + self.dead.len() + self.acked.len()
    }

    pub(crate) fn lease(
        &mut self,
        log: &(impl LogView + ?Sized),
        request: LeaseRequest,
    ) -> LeaseOutcome {
        let now = request.now_millis;
        let policy = request.policy;
        let mut outcome = LeaseOutcome::default();
        self.forget_below(log.start());
        self.expire_leases(log, now, policy, &mut outcome.dead_lettered);
        if request.max_messages == 0 {
            return outcome;
        }
        let size = self.priority_window(log, request.max_messages);
        let window = self.scan(log, now, policy.ordered, size);
        outcome.expired = window.expired;
        let picked = self.choose(&window.candidates, request.max_messages);
        let given_back = self.give_back_untaken(&window, &picked);
        // Other new messages looked at for priority but not taken wait in pending.
        let looked_at = window.candidates.iter().enumerate().take(given_back);
        for (index, candidate) in looked_at.skip(window.first_new) {
            if picked.binary_search(&index).is_err() {
                self.set_pending(
                    candidate.message.offset,
                    Pending {
                        attempts: 0,
                        due: now,
                    },
                );
            }
        }
        for index in picked {
            let candidate = &window.candidates[index];
            let offset = candidate.message.offset;
            self.remove_pending(offset);
            let attempt = candidate.attempts + 1;
            if policy.mode == DeliveryMode::AtMostOnce {
                self.mark_acked(offset);
            } else {
                let busy_key = candidate
                    .message
                    .message
                    .ordering_key
                    .clone()
                    .filter(|_| policy.ordered);
                self.grant(
                    offset,
                    Lease {
                        attempt,
                        deadline: request.deadline_millis,
                        busy_key,
                    },
                );
            }
            outcome.leased.push(Leased {
                message: Arc::clone(candidate.message),
                attempt,
            });
        }
        outcome
    }

    pub(crate) fn ack(&mut self, deliveries: &[DeliveryRef], now: u64, exact: bool) -> AckOutcome {
        let mut outcome = AckOutcome::default();
        for d in deliveries {
            let offset = d.offset;
            if offset < self.acked_below || self.acked.contains(&offset) {
                continue;
            }
            let current = self.is_current(d, now);
            let deliverable = offset < self.next && !self.dead.contains_key(&offset);
            if (exact && !current) || !deliverable {
                if exact {
                    outcome.stale.push(*d);
                }
                continue;
            }
            self.remove_lease(offset);
            self.remove_pending(offset);
            self.mark_acked(offset);
            outcome.newly_acked += 1;
        }
        outcome
    }

    pub(crate) fn extend(&mut self, deliveries: &[DeliveryRef], deadline: u64, now: u64) {
        for d in deliveries {
            if deadline <= now || !self.is_current(d, now) {
                continue;
            }
            if let Some(mut lease) = self.remove_lease(d.offset) {
                lease.deadline = deadline;
                self.grant(d.offset, lease);
            }
        }
    }

    pub(crate) fn nack(
        &mut self,
        log: &(impl LogView + ?Sized),
        deliveries: &[DeliveryRef],
        nack: &Nack,
        now: u64,
        policy: DeliveryPolicy,
    ) -> Vec<DeadLetter> {
        let mut dead = Vec::new();
        for d in deliveries {
            if !self.is_current(d, now) {
                continue;
            }
            self.remove_lease(d.offset);
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

    pub(crate) fn backlog(&self, log: &(impl LogView + ?Sized), now: u64) -> Backlog {
        let start = log.start();
        let from = self.acked_below.max(start);
        let settled = self.acked.range(start..).count() + self.dead.range(start..).count();
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
            oldest_unacked_publish_millis: self
                .oldest_unacked(start, log.end())
                .and_then(|o| log.get(o))
                .map(|m| m.message.publish_time_millis),
            expired: self.expired,
            dead_lettered: self.dead.range(start..).count() as u64,
        }
    }

    /// The lowest offset in `[start, end)` that is leased, pending or never looked at.
    pub(crate) fn oldest_unacked(&self, start: u64, end: u64) -> Option<u64> {
        [
            self.leased.range(start..).next().map(|(o, _)| *o),
            self.pending.range(start..).next().map(|(o, _)| *o),
            (self.next.max(start) < end).then_some(self.next.max(start)),
        ]
        .into_iter()
        .flatten()
        .min()
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

    pub(crate) fn dead_letters(
        &self,
        log: &(impl LogView + ?Sized),
        max: usize,
    ) -> Vec<DeadLetter> {
        self.dead_letters_where(log, max, |_| true)
    }

    /// Up to `max` dead letters that `keep` accepts, oldest offset first.
    fn dead_letters_where(
        &self,
        log: &(impl LogView + ?Sized),
        max: usize,
        keep: impl Fn(&Dead) -> bool,
    ) -> Vec<DeadLetter> {
        self.dead
            .iter()
            .filter(|(_, dead)| keep(dead))
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
        log: &(impl LogView + ?Sized),
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
            self.remove_dead(*offset);
            if let Some(key) = log
                .get(*offset)
                .and_then(|m| m.message.ordering_key.as_ref())
            {
                self.unpark(key);
            }
            self.set_pending(
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
        self.unpark(key)
    }

    /// Moves the cursor to `offset`: everything before it counts as acked, the
    /// rest as never delivered.
    pub(crate) fn seek(&mut self, offset: u64) {
        let changes = self.changes.take().map(|_| Changes {
            reset: true,
            scalars: true,
            ..Changes::default()
        });
        *self = Self {
            expired: self.expired,
            served: self.served,
            changes,
            edits: self.edits + 1,
            ..Self::new(offset)
        };
    }

    fn is_current(&self, d: &DeliveryRef, now: u64) -> bool {
        self.leased
            .get(&d.offset)
            .is_some_and(|lease| lease.attempt == d.attempt && lease.deadline > now)
    }

    /// Ends leases whose deadline passed: each retries or is dead-lettered.
    fn expire_leases(
        &mut self,
        log: &(impl LogView + ?Sized),
        now: u64,
        policy: DeliveryPolicy,
        dead: &mut Vec<DeadLetter>,
    ) {
        while let Some(&(deadline, offset)) = self.expiries.first() {
            if deadline > now {
                break;
            }
            let Some(lease) = self.remove_lease(offset) else {
                self.expiries.remove(&(deadline, offset));
                continue;
            };
            let retry = Retry {
                attempt: lease.attempt,
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
        log: &(impl LogView + ?Sized),
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
                self.park(key);
            }
            self.set_dead(
                offset,
                Dead {
                    attempts: retry.attempt,
                    reason: retry.reason.clone(),
                    at: now,
                    copy_pending: true,
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
        self.set_pending(
            offset,
            Pending {
                attempts: retry.attempt,
                due: retry.from + backoff,
            },
        );
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

/// A stable jitter in `[0, 1)` per message and attempt, so retries of different
/// messages spread out without a random number generator.
fn jitter(offset: u64, attempt: u32) -> f64 {
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(&offset.to_le_bytes());
    bytes[8..].copy_from_slice(&attempt.to_le_bytes());
    (xxh3_64(&bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests;

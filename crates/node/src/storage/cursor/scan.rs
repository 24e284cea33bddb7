//! Finding deliverable messages, and choosing among them by priority with fairness.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Cursor, LogView, Pending};
use crate::storage::{FAIRNESS_PERIOD, StoredMessage};

/// Most messages held in `pending`; keeps one hot ordering key or a pile of
/// delayed messages from pulling the whole backlog into memory indexes.
pub(crate) const MAX_PENDING: usize = 10_000;

/// A deliverable message found by a scan.
pub(super) struct Candidate {
    pub(super) message: Arc<StoredMessage>,
    pub(super) attempts: u32,
}

impl Cursor {
    /// Deliverable messages in offset order (pending first, then new ones), at
    /// most one per ordering key when ordered. Returns them and how many expired.
    pub(super) fn scan(
        &mut self,
        log: &impl LogView,
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
                self.remove_pending(offset);
                continue;
            };
            if is_expired(&message, now) {
                self.remove_pending(offset);
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
            self.touch_scalars();
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
                self.set_pending(
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
        if expired > 0 {
            self.expired += expired;
            self.touch_scalars();
        }
        (candidates, expired)
    }

    /// Picks up to `max` candidates: highest priority first (oldest among equals),
    /// except every [`FAIRNESS_PERIOD`]th pick, which takes the oldest. Returns
    /// `(index, chosen)` for every candidate.
    pub(super) fn choose(&mut self, candidates: &[Candidate], max: usize) -> Vec<(usize, bool)> {
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
            self.touch_scalars();
        }
        chosen.into_iter().enumerate().collect()
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

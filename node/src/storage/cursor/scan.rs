//! Finding deliverable messages, and choosing among them by priority with fairness.

use crate::storage::Millis;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use super::{Cursor, LogView, MAX_PENDING, Pending};
use crate::storage::{FAIRNESS_PERIOD, PRIORITY_WINDOW, StoredMessage};

/// A deliverable message found by a scan, borrowed from the log.
pub(super) struct Candidate<'l> {
    pub(super) message: &'l Arc<StoredMessage>,
    pub(super) attempts: u32,
}

/// What a scan found.
pub(super) struct Window<'l> {
    /// Deliverable messages in offset order: pending ones first, then new ones.
    pub(super) candidates: Vec<Candidate<'l>>,
    /// Candidates from this index on were read past `next` by the scan, so they
    /// are in no map yet; the ones before it are pending.
    pub(super) first_new: usize,
    /// Messages skipped because their TTL passed.
    pub(super) expired: u64,
}

impl Cursor {
    /// Deliverable messages in offset order (pending first, then new ones), at
    /// most one per ordering key when ordered, up to `window` of them.
    pub(super) fn scan<'l>(
        &mut self,
        log: &'l (impl LogView + ?Sized),
        now: u64,
        ordered: bool,
        window: usize,
    ) -> Window<'l> {
        let mut blocked: HashSet<String> = self.parked.iter().cloned().collect();
        let mut candidates = Vec::new();
        // Changes to `pending` wait until the walk over it is done.
        let (mut trimmed, mut expired_pending) = (Vec::new(), Vec::new());
        for (&offset, pending) in &self.pending {
            if candidates.len() >= window {
                break;
            }
            let Some(message) = log.get(offset) else {
                trimmed.push(offset);
                continue;
            };
            if is_expired(message, now) {
                expired_pending.push(offset);
                continue;
            }
            if pending.due > now {
                block(message, ordered, &mut blocked);
                continue;
            }
            if self.is_blocked(message, ordered, &mut blocked) {
                continue;
            }
            block(message, ordered, &mut blocked);
            candidates.push(Candidate {
                message,
                attempts: pending.attempts,
            });
        }
        for offset in trimmed {
            self.remove_pending(offset);
        }
        let mut expired = expired_pending.len() as u64;
        for offset in expired_pending {
            self.remove_pending(offset);
            self.mark_acked(offset);
        }
        let first_new = candidates.len();
        while candidates.len() < window && self.next < log.end() && self.pending.len() < MAX_PENDING
        {
            let offset = self.next;
            self.next += 1;
            self.touch_scalars();
            let Some(message) = log.get(offset) else {
                continue;
            };
            if is_expired(message, now) {
                self.mark_acked(offset);
                expired += 1;
                continue;
            }
            let delayed_until = message
                .message
                .deliver_at_millis
                .map(Millis::get)
                .filter(|at| *at > now);
            if delayed_until.is_some() || self.is_blocked(message, ordered, &mut blocked) {
                block(message, ordered, &mut blocked);
                self.set_pending(
                    offset,
                    Pending {
                        attempts: 0,
                        due: delayed_until.unwrap_or(now),
                    },
                );
                continue;
            }
            block(message, ordered, &mut blocked);
            candidates.push(Candidate {
                message,
                attempts: 0,
            });
        }
        if expired > 0 {
            self.expired += expired;
            self.touch_scalars();
        }
        Window {
            candidates,
            first_new,
            expired,
        }
    }

    /// Picks up to `max` candidates: highest priority first (oldest among equals),
    /// except every [`FAIRNESS_PERIOD`]th pick, which takes the oldest. Returns the
    /// indexes of the picked candidates in ascending order.
    pub(super) fn choose(&mut self, candidates: &[Candidate<'_>], max: usize) -> Vec<usize> {
        let picks = max.min(candidates.len());
        if picks == 0 {
            return Vec::new();
        }
        // Highest priority first, oldest among equals. Only the first `picks` of
        // this order can be taken: before each pick fewer than `picks` of them
        // are taken, whether by priority or as the oldest. A max-heap keeps
        // them, its top being the worst kept.
        let mut kept: BinaryHeap<(Reverse<u8>, usize)> = BinaryHeap::with_capacity(picks);
        for (index, candidate) in candidates.iter().enumerate() {
            let rank = (Reverse(candidate.message.message.priority), index);
            if kept.len() < picks {
                kept.push(rank);
            } else if let Some(mut worst) = kept.peek_mut()
                && rank < *worst
            {
                *worst = rank;
            }
        }
        let by_priority = kept.into_sorted_vec();
        let mut chosen = vec![false; candidates.len()];
        let mut picked = Vec::with_capacity(picks);
        let (mut oldest, mut best) = (0, 0);
        for _ in 0..picks {
            let index = if self.served % FAIRNESS_PERIOD == FAIRNESS_PERIOD - 1 {
                while chosen[oldest] {
                    oldest += 1;
                }
                oldest
            } else {
                while chosen[by_priority[best].1] {
                    best += 1;
                }
                by_priority[best].1
            };
            chosen[index] = true;
            picked.push(index);
            self.served += 1;
            self.touch_scalars();
        }
        picked.sort_unstable();
        picked
    }

    /// How many deliverable messages a lease of `max` looks at:
    /// [`PRIORITY_WINDOW`], or only `max` when every message it may take (all
    /// at or above `acked_below`) has one priority, so the oldest are taken.
    pub(super) fn priority_window(&self, log: &(impl LogView + ?Sized), max: usize) -> usize {
        if log.priorities_may_differ_from(self.acked_below) {
            PRIORITY_WINDOW.max(max)
        } else {
            max
        }
    }

    /// When the new candidates `picked` did not take are the scan's last
    /// offsets, one after another up to `next`, moves `next` back to the first
    /// of them: they are new again, not pending. Answers the index of the first
    /// candidate given back (`candidates.len()` when none is).
    ///
    /// This is the common case (every message of one priority: the oldest are
    /// taken), and it keeps a lease of a few messages from a long backlog from
    /// moving the rest of its priority window into `pending`, which a backend
    /// persists and the next lease takes out again.
    pub(super) fn give_back_untaken(&mut self, window: &Window<'_>, picked: &[usize]) -> usize {
        let candidates = &window.candidates;
        let taken_new = picked.iter().filter(|&&i| i >= window.first_new).count();
        let first_untaken = window.first_new + taken_new;
        // `picked` is ascending: the new ones taken must be the first new ones.
        let prefix = picked[picked.len() - taken_new..]
            .iter()
            .copied()
            .eq(window.first_new..first_untaken);
        let Some(first) = candidates.get(first_untaken) else {
            return candidates.len();
        };
        // Offsets ascend, so as many candidates as offsets up to `next` means
        // every one of them is a candidate: none was made pending, expired or
        // missing by the scan.
        let tail = (candidates.len() - first_untaken) as u64;
        if !prefix || self.next - first.message.offset != tail {
            return candidates.len();
        }
        self.next = first.message.offset;
        self.touch_scalars();
        first_untaken
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
    message
        .message
        .expire_at_millis
        .is_some_and(|at| at.get() <= now)
}

/// Marks `message`'s ordering key as taken for the rest of a scan (ordered only).
fn block(message: &StoredMessage, ordered: bool, blocked: &mut HashSet<String>) {
    if ordered && let Some(key) = &message.message.ordering_key {
        blocked.insert(key.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::storage::NewMessage;

    /// The rule as stated, by sorting every candidate: what `choose` must pick.
    fn by_the_rule(priorities: &[u8], mut served: u64, max: usize) -> (Vec<usize>, u64) {
        let mut order: Vec<usize> = (0..priorities.len()).collect();
        order.sort_by_key(|&i| (Reverse(priorities[i]), i));
        let mut chosen = vec![false; priorities.len()];
        for _ in 0..max.min(priorities.len()) {
            let mut unchosen = (0..priorities.len()).filter(|&i| !chosen[i]);
            let index = if served % FAIRNESS_PERIOD == FAIRNESS_PERIOD - 1 {
                unchosen.next()
            } else {
                order.iter().copied().find(|&i| !chosen[i])
            };
            chosen[index.expect("fewer picks than candidates")] = true;
            served += 1;
        }
        let picked = (0..priorities.len()).filter(|&i| chosen[i]).collect();
        (picked, served)
    }

    fn stored(offset: u64, priority: u8) -> Arc<StoredMessage> {
        Arc::new(StoredMessage {
            offset,
            message: NewMessage {
                data: Bytes::new(),
                attributes: BTreeMap::new(),
                ordering_key: None,
                priority,
                publish_time_millis: 0,
                deliver_at_millis: None,
                expire_at_millis: None,
            },
        })
    }

    proptest! {
        #[test]
        fn choose_picks_what_the_rule_says(
            priorities in prop::collection::vec(0..10u8, 0..60),
            served in 0..8u64,
            max in 0..70usize,
        ) {
            let messages: Vec<Arc<StoredMessage>> = priorities
                .iter()
                .enumerate()
                .map(|(offset, priority)| stored(offset as u64, *priority))
                .collect();
            let candidates: Vec<Candidate<'_>> = messages
                .iter()
                .map(|message| Candidate { message, attempts: 0 })
                .collect();
            let mut cursor = Cursor::new(0);
            cursor.served = served;
            let picked = cursor.choose(&candidates, max);
            prop_assert_eq!((picked, cursor.served), by_the_rule(&priorities, served, max));
        }
    }
}

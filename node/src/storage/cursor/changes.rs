//! What a tracked cursor changed, and the state a backend persists to rebuild it.
//!
//! The persisted form is: the [`Scalars`], one [`OffsetState`] per offset in
//! `[acked_below, next)` that is leased, pending, dead or acked, and the parked
//! ordering keys. Offsets with no state (below `acked_below`, or forgotten after
//! a trim) are deleted from storage. Busy ordering keys and the deadline index
//! are derived from the leases on [`Cursor::restore`].

use std::collections::BTreeSet;

use super::{Cursor, Dead, Lease, Pending};

/// What changed since the last [`Cursor::take_changes`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Offsets whose state changed; [`Cursor::state_of`] gives the new state
    /// (`None`: delete it).
    pub(crate) offsets: BTreeSet<u64>,
    /// Ordering keys parked or resumed; [`Cursor::is_parked`] says which.
    pub(crate) parked: BTreeSet<String>,
    /// One of the [`Scalars`] changed.
    pub(crate) scalars: bool,
    /// The whole state was replaced (seek): stored state must be cleared first.
    pub(crate) reset: bool,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        self.offsets.is_empty() && self.parked.is_empty() && !self.scalars && !self.reset
    }
}

/// The cursor's counters and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Scalars {
    pub(crate) next: u64,
    pub(crate) acked_below: u64,
    pub(crate) expired: u64,
    pub(crate) served: u64,
}

/// The state of one offset at or above `acked_below`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OffsetState {
    Leased {
        attempt: u32,
        deadline: u64,
        /// The ordering key this lease holds busy (ordered subscriptions only).
        busy_key: Option<String>,
    },
    Pending {
        attempts: u32,
        due: u64,
    },
    Dead {
        attempts: u32,
        at: u64,
        reason: Option<String>,
        /// Its copy in the dead-letter topic is not stored yet.
        copy_pending: bool,
    },
    Acked,
}

impl Cursor {
    /// The changes recorded since the last call, if the cursor is tracked and
    /// anything changed.
    pub(crate) fn take_changes(&mut self) -> Option<Changes> {
        let changes = self.changes.as_mut()?;
        if changes.is_empty() {
            return None;
        }
        Some(std::mem::take(changes))
    }

    /// How many changes the cursor recorded since it was made (tracked cursors
    /// only): a call that leaves it unmoved made no change of its own.
    pub(crate) fn edits(&self) -> u64 {
        self.edits
    }

    pub(crate) fn state_of(&self, offset: u64) -> Option<OffsetState> {
        if let Some(lease) = self.leased.get(&offset) {
            return Some(OffsetState::Leased {
                attempt: lease.attempt,
                deadline: lease.deadline,
                busy_key: lease.busy_key.clone(),
            });
        }
        if let Some(pending) = self.pending.get(&offset) {
            return Some(OffsetState::Pending {
                attempts: pending.attempts,
                due: pending.due,
            });
        }
        if let Some(dead) = self.dead.get(&offset) {
            return Some(OffsetState::Dead {
                attempts: dead.attempts,
                at: dead.at,
                reason: dead.reason.clone(),
                copy_pending: dead.copy_pending,
            });
        }
        self.acked.contains(&offset).then_some(OffsetState::Acked)
    }

    pub(crate) fn scalars(&self) -> Scalars {
        Scalars {
            next: self.next,
            acked_below: self.acked_below,
            expired: self.expired,
            served: self.served,
        }
    }

    pub(crate) fn is_parked(&self, key: &str) -> bool {
        self.parked.contains(key)
    }

    /// Rebuilds a tracked cursor from its persisted form.
    pub(crate) fn restore(
        scalars: Scalars,
        offsets: impl IntoIterator<Item = (u64, OffsetState)>,
        parked: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut cursor = Self {
            next: scalars.next,
            acked_below: scalars.acked_below,
            expired: scalars.expired,
            served: scalars.served,
            parked: parked.into_iter().collect(),
            ..Self::default()
        };
        for (offset, state) in offsets {
            match state {
                OffsetState::Leased {
                    attempt,
                    deadline,
                    busy_key,
                } => cursor.grant(
                    offset,
                    Lease {
                        attempt,
                        deadline,
                        busy_key,
                    },
                ),
                OffsetState::Pending { attempts, due } => {
                    cursor.pending.insert(offset, Pending { attempts, due });
                }
                OffsetState::Dead {
                    attempts,
                    at,
                    reason,
                    copy_pending,
                } => {
                    cursor.dead.insert(
                        offset,
                        Dead {
                            attempts,
                            reason,
                            at,
                            copy_pending,
                        },
                    );
                }
                OffsetState::Acked => {
                    cursor.acked.insert(offset);
                }
            }
        }
        cursor.changes = Some(Changes::default());
        cursor
    }
}

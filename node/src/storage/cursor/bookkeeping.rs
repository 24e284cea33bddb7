//! Every change to the cursor's maps goes through these methods, so a tracked
//! cursor records each offset, parked key and scalar it changed.

use super::{Cursor, Dead, Lease, Pending};

impl Cursor {
    /// Forgets offsets that retention removed from the log.
    pub(super) fn forget_below(&mut self, start: u64) {
        if self.acked_below >= start && self.dead.first_key_value().is_none_or(|(o, _)| *o >= start)
        {
            return;
        }
        let trimmed: Vec<u64> = self.leased.range(..start).map(|(o, _)| *o).collect();
        for offset in trimmed {
            self.remove_lease(offset);
        }
        let kept_pending = self.pending.split_off(&start);
        let kept_dead = self.dead.split_off(&start);
        let kept_acked = self.acked.split_off(&start);
        let forgotten: Vec<u64> = self
            .pending
            .keys()
            .chain(self.dead.keys())
            .chain(self.acked.iter())
            .copied()
            .collect();
        (self.pending, self.dead, self.acked) = (kept_pending, kept_dead, kept_acked);
        for offset in forgotten {
            self.touch(offset);
        }
        self.acked_below = self.acked_below.max(start);
        self.next = self.next.max(start);
        self.touch_scalars();
        self.compact_acked();
    }

    pub(super) fn grant(&mut self, offset: u64, lease: Lease) {
        if let Some(key) = &lease.busy_key {
            *self.busy_keys.entry(key.clone()).or_default() += 1;
        }
        self.expiries.insert((lease.deadline, offset));
        self.leased.insert(offset, lease);
        self.touch(offset);
    }

    /// Removes a lease with its deadline entry and ordering-key hold.
    pub(super) fn remove_lease(&mut self, offset: u64) -> Option<Lease> {
        let lease = self.leased.remove(&offset)?;
        self.touch(offset);
        self.expiries.remove(&(lease.deadline, offset));
        if let Some(key) = &lease.busy_key
            && let Some(count) = self.busy_keys.get_mut(key)
        {
            *count -= 1;
            if *count == 0 {
                self.busy_keys.remove(key);
            }
        }
        Some(lease)
    }

    pub(super) fn set_pending(&mut self, offset: u64, pending: Pending) {
        self.pending.insert(offset, pending);
        self.touch(offset);
    }

    pub(super) fn remove_pending(&mut self, offset: u64) -> Option<Pending> {
        let pending = self.pending.remove(&offset)?;
        self.touch(offset);
        Some(pending)
    }

    pub(super) fn set_dead(&mut self, offset: u64, dead: Dead) {
        self.dead.insert(offset, dead);
        self.touch(offset);
    }

    pub(super) fn remove_dead(&mut self, offset: u64) {
        if self.dead.remove(&offset).is_some() {
            self.touch(offset);
        }
    }

    pub(super) fn mark_acked(&mut self, offset: u64) {
        self.acked.insert(offset);
        self.touch(offset);
        self.compact_acked();
    }

    /// Moves `acked_below` over the acked offsets right above it.
    pub(super) fn compact_acked(&mut self) {
        while self.acked.remove(&self.acked_below) {
            self.touch(self.acked_below);
            self.acked_below += 1;
            self.touch_scalars();
        }
    }

    pub(super) fn park(&mut self, key: &str) {
        if self.parked.insert(key.to_owned())
            && let Some(changes) = &mut self.changes
        {
            changes.parked.insert(key.to_owned());
            self.edits += 1;
        }
    }

    pub(super) fn unpark(&mut self, key: &str) -> bool {
        let was_parked = self.parked.remove(key);
        if was_parked && let Some(changes) = &mut self.changes {
            changes.parked.insert(key.to_owned());
            self.edits += 1;
        }
        was_parked
    }

    pub(super) fn touch(&mut self, offset: u64) {
        if let Some(changes) = &mut self.changes {
            changes.offsets.insert(offset);
            self.edits += 1;
        }
    }

    pub(super) fn touch_scalars(&mut self) {
        if let Some(changes) = &mut self.changes {
            changes.scalars = true;
            self.edits += 1;
        }
    }
}

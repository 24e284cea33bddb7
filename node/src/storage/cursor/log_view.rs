//! What the cursor needs from a partition's log, and which offsets each call
//! may read, so a backend that fetches messages on demand can load exactly those.

use std::sync::Arc;

use super::Cursor;
use crate::storage::StoredMessage;

/// Read access to the messages of one partition.
///
/// `get` must return every retained message in `[start, end)` that the call
/// may read (see the `*_reads` methods of [`Cursor`]); an absent offset is
/// taken as trimmed by retention and forgotten. `end` may be lower than the
/// log's real end: the cursor then simply does not look past it.
pub(crate) trait LogView {
    /// First retained offset.
    fn start(&self) -> u64;
    /// One past the last offset this view covers.
    fn end(&self) -> u64;
    fn get(&self, offset: u64) -> Option<&Arc<StoredMessage>>;
    /// Whether the messages at or above `offset` may differ in priority. A
    /// lease over messages of one priority looks at only as many as it takes
    /// (by priority it would take the oldest anyway). A view that cannot tell
    /// answers true.
    fn priorities_may_differ_from(&self, _offset: u64) -> bool {
        true
    }
}

impl Cursor {
    /// First offset never looked at: a lease reads new messages from here on.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// Offsets below [`Cursor::next`] that a lease at `now` may read: pending
    /// messages and leases whose deadline passed (they may be dead-lettered).
    pub(crate) fn lease_reads(&self, start: u64, now: u64) -> Vec<u64> {
        let mut offsets: Vec<u64> = self.pending.range(start..).map(|(o, _)| *o).collect();
        offsets.extend(
            self.expiries
                .iter()
                .take_while(|(deadline, _)| *deadline <= now)
                .map(|(_, offset)| *offset)
                .filter(|offset| *offset >= start),
        );
        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }

    /// Whether a lease may still move `next` forward (pending has room).
    pub(crate) fn can_scan_further(&self) -> bool {
        self.pending.len() < super::MAX_PENDING
    }

    /// Dead-lettered offsets at or above `start`, in order: what listing and
    /// redriving dead letters read.
    pub(crate) fn dead_reads(&self, start: u64) -> Vec<u64> {
        self.dead.range(start..).map(|(o, _)| *o).collect()
    }

    /// The offset a nack of `offset` may read (to dead-letter it): only a current lease.
    pub(crate) fn is_leased(&self, offset: u64) -> bool {
        self.leased.contains_key(&offset)
    }
}

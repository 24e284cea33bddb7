//! [`KnownEnds`]: how far each partition's log reaches, as far as this
//! owner's own appends tell, so a lease on a subscription that has seen
//! everything answers without a Redis round trip.
//!
//! Every append to a partition at an epoch goes through that epoch's owner
//! (the routing layer forwards them; an older epoch is fenced by the append
//! script), so the owner's append replies are the log's end. The one thing
//! they cannot tell is an append whose reply never came: cancelled, timed
//! out, failed. Such an append may still land, and nobody wakes the
//! consumers for it, so from then on the end is unknown and leases read
//! Redis, until an append that ran alone (no other append began, ended
//! unanswered or was in flight while it ran) brings its exact end back.
//!
//! The rule a lease relies on: every append whose caller was told it
//! succeeded ends at or below the known end. A message past the known end
//! then belongs to an append not yet answered, whose answer wakes the
//! consumers after the known end moved past it (a lease skipped meanwhile
//! loses nothing). A known end above the real one is harmless: a cursor never
//! runs past the real end, so it only means reading Redis.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::storage::{Epoch, PartitionRef};

/// The known end of each partition this node appended to.
#[derive(Debug, Default)]
pub(crate) struct KnownEnds {
    partitions: Mutex<HashMap<PartitionRef, Known>>,
}

/// One partition's known end and the appends in flight on it.
#[derive(Debug, Default, Clone, Copy)]
struct Known {
    /// The epoch `end` was learnt at; a higher epoch's append resets it.
    epoch: Option<Epoch>,
    /// One past the last offset of every answered append, if known.
    end: Option<u64>,
    /// Appends begun and not yet settled.
    in_flight: u32,
    /// Bumped by every append begun and every end forgotten: an append sees
    /// it unchanged at its answer only if it ran alone.
    generation: u64,
}

/// One append in flight. Settle it with [`AppendTicket::appended`] or
/// [`AppendTicket::refused`]; dropped unsettled (cancelled, failed, unknown
/// outcome), it makes the partition's end unknown.
#[must_use = "an unsettled ticket forgets the partition's end"]
pub(crate) struct AppendTicket<'a> {
    ends: &'a KnownEnds,
    at: &'a PartitionRef,
    /// No other append was in flight when this one began.
    alone: bool,
    generation: u64,
    settled: bool,
}

impl KnownEnds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PartitionRef, Known>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The known end of `at` for an owner writing at `epoch`; `None` when
    /// unknown or learnt at another epoch.
    pub(crate) fn end_at(&self, at: &PartitionRef, epoch: Epoch) -> Option<u64> {
        let partitions = self.lock();
        let known = partitions.get(at)?;
        if known.epoch == Some(epoch) {
            known.end
        } else {
            None
        }
    }

    /// Starts tracking one append on `at`, before it is sent.
    pub(crate) fn begin<'a>(&'a self, at: &'a PartitionRef) -> AppendTicket<'a> {
        let mut partitions = self.lock();
        let known = partitions.entry(at.clone()).or_default();
        let alone = known.in_flight == 0;
        known.in_flight += 1;
        known.generation += 1;
        AppendTicket {
            ends: self,
            at,
            alone,
            generation: known.generation,
            settled: false,
        }
    }

    /// Forgets `at`'s end (this node lost the partition, or its topic went):
    /// the next owner's appends are not seen here.
    pub(crate) fn forget(&self, at: &PartitionRef) {
        if let Some(known) = self.lock().get_mut(at) {
            known.end = None;
            known.generation += 1;
        }
    }
}

impl AppendTicket<'_> {
    /// The append at `epoch` stored its messages: the log now ends at `end`
    /// (its first offset plus its count; for a claim, the end it found).
    pub(crate) fn appended(self, epoch: Epoch, end: u64) {
        self.settle(epoch, end, true);
    }

    /// The batch at `epoch` was found stored before (the client library sent
    /// it again after a lost reply, or its idempotency key was seen): it ends
    /// at `end`, but the log may reach further.
    pub(crate) fn found_stored(self, epoch: Epoch, end: u64) {
        self.settle(epoch, end, false);
    }

    fn settle(mut self, epoch: Epoch, end: u64, exact: bool) {
        self.settled = true;
        let mut partitions = self.ends.lock();
        let Some(known) = partitions.get_mut(self.at) else {
            return;
        };
        known.in_flight -= 1;
        match known.epoch {
            Some(current) if current > epoch => return,
            Some(current) if current == epoch => {}
            _ => {
                known.epoch = Some(epoch);
                known.end = None;
            }
        }
        let ran_alone = self.alone && known.generation == self.generation;
        known.end = match known.end {
            Some(known_end) => Some(known_end.max(end)),
            None if exact && ran_alone => Some(end),
            None => None,
        };
    }

    /// The append was refused and stored nothing (fenced, partition full, no
    /// such partition).
    pub(crate) fn refused(mut self) {
        self.settled = true;
        if let Some(known) = self.ends.lock().get_mut(self.at) {
            known.in_flight -= 1;
        }
    }
}

impl Drop for AppendTicket<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if let Some(known) = self.ends.lock().get_mut(self.at) {
            known.in_flight -= 1;
            known.end = None;
            known.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::TopicName;
    use std::sync::LazyLock;

    const E1: Epoch = Epoch::SINGLE_NODE;

    static P0: LazyLock<PartitionRef> = LazyLock::new(|| PartitionRef {
        topic: TopicName::new("orders").expect("valid name"),
        partition: 0,
    });

    #[test]
    fn an_append_that_ran_alone_makes_the_end_known() {
        let ends = KnownEnds::default();
        assert_eq!(ends.end_at(&P0, E1), None, "unknown before any append");
        ends.begin(&P0).appended(E1, 5);
        assert_eq!(ends.end_at(&P0, E1), Some(5));
        assert_eq!(ends.end_at(&P0, E1.next()), None, "learnt at another epoch");
    }

    #[test]
    fn overlapping_appends_keep_the_highest_end_in_any_order() {
        let ends = KnownEnds::default();
        ends.begin(&P0).appended(E1, 1);
        let a = ends.begin(&P0);
        let b = ends.begin(&P0);
        b.appended(E1, 3);
        a.appended(E1, 2);
        assert_eq!(ends.end_at(&P0, E1), Some(3));
    }

    #[test]
    fn an_unanswered_append_makes_the_end_unknown_until_one_runs_alone() {
        let ends = KnownEnds::default();
        ends.begin(&P0).appended(E1, 1);
        drop(ends.begin(&P0));
        assert_eq!(ends.end_at(&P0, E1), None, "the dropped append may land");

        tracing::info!("an append overlapping another does not bring it back");
        let a = ends.begin(&P0);
        let b = ends.begin(&P0);
        a.appended(E1, 3);
        b.appended(E1, 4);
        assert_eq!(ends.end_at(&P0, E1), None);

        tracing::info!("nor one that began alone but saw another begin");
        let c = ends.begin(&P0);
        ends.begin(&P0).refused();
        c.appended(E1, 5);
        assert_eq!(ends.end_at(&P0, E1), None);

        ends.begin(&P0).appended(E1, 6);
        assert_eq!(ends.end_at(&P0, E1), Some(6));
    }

    #[test]
    fn a_batch_found_stored_raises_a_known_end_but_never_makes_one_known() {
        let ends = KnownEnds::default();
        ends.begin(&P0).found_stored(E1, 3);
        assert_eq!(ends.end_at(&P0, E1), None, "the log may reach further");
        ends.begin(&P0).appended(E1, 4);
        ends.begin(&P0).found_stored(E1, 7);
        assert_eq!(ends.end_at(&P0, E1), Some(7));
        ends.begin(&P0).found_stored(E1, 2);
        assert_eq!(ends.end_at(&P0, E1), Some(7));
    }

    #[test]
    fn a_refused_append_changes_nothing() {
        let ends = KnownEnds::default();
        ends.begin(&P0).appended(E1, 2);
        ends.begin(&P0).refused();
        assert_eq!(ends.end_at(&P0, E1), Some(2));
    }

    #[test]
    fn a_higher_epoch_starts_over_and_a_late_lower_answer_is_ignored() {
        let ends = KnownEnds::default();
        ends.begin(&P0).appended(E1, 9);
        let late = ends.begin(&P0);
        ends.begin(&P0).appended(E1.next(), 4);
        assert_eq!(
            ends.end_at(&P0, E1.next()),
            None,
            "another append was in flight"
        );
        late.appended(E1, 10);
        ends.begin(&P0).appended(E1.next(), 4);
        assert_eq!(ends.end_at(&P0, E1.next()), Some(4));
        assert_eq!(ends.end_at(&P0, E1), None);
    }

    #[test]
    fn forgetting_a_partition_makes_its_end_unknown() {
        let ends = KnownEnds::default();
        ends.begin(&P0).appended(E1, 2);
        ends.forget(&P0);
        assert_eq!(ends.end_at(&P0, E1), None);
    }
}

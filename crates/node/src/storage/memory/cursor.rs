//! One subscription's delivery state on one partition, in memory.
//!
//! Every offset below `next` is in exactly one of three places: leased,
//! ready (waiting for redelivery), or acked (the `acked_below` prefix plus the
//! `acked` set). Offsets below the log's start were trimmed by retention and are
//! forgotten.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::partition_log::PartitionLog;
use crate::storage::{Backlog, DeliveryRef, LeaseRequest, Leased, StoredMessage};

/// Most messages held back in `ready` because their ordering key is busy; keeps
/// one hot key from pulling the whole backlog into memory indexes.
const MAX_READY: usize = 10_000;

#[derive(Debug)]
struct Lease {
    attempt: u32,
    deadline: u64,
    /// Set only when the lease holds an ordering key busy.
    busy_key: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Cursor {
    /// First offset never leased.
    next: u64,
    leased: BTreeMap<u64, Lease>,
    /// `(deadline, offset)` of every lease, to expire them in deadline order.
    expiries: BTreeSet<(u64, u64)>,
    /// Offset → attempts so far, for messages deliverable again.
    ready: BTreeMap<u64, u32>,
    /// Every offset below this is acked.
    acked_below: u64,
    /// Acked offsets at or above `acked_below`.
    acked: BTreeSet<u64>,
    /// Ordering keys with a leased message, with their lease count.
    busy_keys: HashMap<String, u32>,
}

impl Cursor {
    /// A cursor whose first deliverable message is `start`.
    pub(crate) fn new(start: u64) -> Self {
        Self {
            next: start,
            leased: BTreeMap::new(),
            expiries: BTreeSet::new(),
            ready: BTreeMap::new(),
            acked_below: start,
            acked: BTreeSet::new(),
            busy_keys: HashMap::new(),
        }
    }

    pub(crate) fn lease(&mut self, log: &PartitionLog, request: LeaseRequest) -> Vec<Leased> {
        self.forget_below(log.start());
        self.expire(request.now_millis);
        let mut out = Vec::new();
        let mut blocked: HashSet<String> = HashSet::new();

        let ready: Vec<(u64, u32)> = self.ready.iter().map(|(o, a)| (*o, *a)).collect();
        for (offset, attempts) in ready {
            if out.len() >= request.max_messages {
                return out;
            }
            let Some(message) = log.get(offset).cloned() else {
                continue;
            };
            if self.is_blocked(&message, request.ordered, &mut blocked) {
                continue;
            }
            self.ready.remove(&offset);
            out.push(self.grant(message, attempts + 1, request));
        }

        while out.len() < request.max_messages
            && self.next < log.end()
            && self.ready.len() < MAX_READY
        {
            let offset = self.next;
            self.next += 1;
            let Some(message) = log.get(offset).cloned() else {
                continue;
            };
            if self.is_blocked(&message, request.ordered, &mut blocked) {
                self.ready.insert(offset, 0);
                continue;
            }
            out.push(self.grant(message, 1, request));
        }
        out
    }

    pub(crate) fn ack(&mut self, deliveries: &[DeliveryRef]) -> u64 {
        let mut newly = 0;
        for d in deliveries {
            let offset = d.offset;
            if offset < self.acked_below || offset >= self.next || self.acked.contains(&offset) {
                continue;
            }
            if let Some(lease) = self.leased.remove(&offset) {
                self.drop_lease_bookkeeping(offset, lease);
            }
            self.ready.remove(&offset);
            self.acked.insert(offset);
            newly += 1;
        }
        while self.acked.remove(&self.acked_below) {
            self.acked_below += 1;
        }
        newly
    }

    pub(crate) fn extend(&mut self, deliveries: &[DeliveryRef], deadline: u64, now: u64) {
        for d in deliveries {
            let current = self
                .leased
                .get(&d.offset)
                .is_some_and(|lease| lease.attempt == d.attempt);
            if !current {
                continue;
            }
            if deadline <= now {
                self.release(d.offset);
            } else if let Some(lease) = self.leased.get_mut(&d.offset) {
                self.expiries.remove(&(lease.deadline, d.offset));
                lease.deadline = deadline;
                self.expiries.insert((deadline, d.offset));
            }
        }
    }

    pub(crate) fn backlog(&mut self, log: &PartitionLog, now: u64) -> Backlog {
        self.forget_below(log.start());
        self.expire(now);
        let from = self.acked_below.max(log.start());
        Backlog {
            unacked: log.end().saturating_sub(from) - self.acked.len() as u64,
            outstanding: self.leased.len() as u64,
        }
    }

    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.expiries.first().map(|(deadline, _)| *deadline)
    }

    fn is_blocked(
        &self,
        message: &StoredMessage,
        ordered: bool,
        blocked: &mut HashSet<String>,
    ) -> bool {
        let Some(key) = message.message.ordering_key.as_ref().filter(|_| ordered) else {
            return false;
        };
        if blocked.contains(key) || self.busy_keys.contains_key(key) {
            blocked.insert(key.clone());
            return true;
        }
        false
    }

    fn grant(
        &mut self,
        message: Arc<StoredMessage>,
        attempt: u32,
        request: LeaseRequest,
    ) -> Leased {
        let offset = message.offset;
        let busy_key = message
            .message
            .ordering_key
            .clone()
            .filter(|_| request.ordered);
        if let Some(key) = &busy_key {
            *self.busy_keys.entry(key.clone()).or_default() += 1;
        }
        self.expiries.insert((request.deadline_millis, offset));
        self.leased.insert(
            offset,
            Lease {
                attempt,
                deadline: request.deadline_millis,
                busy_key,
            },
        );
        Leased { message, attempt }
    }

    /// Turns expired leases into ready messages.
    fn expire(&mut self, now: u64) {
        while let Some(&(deadline, offset)) = self.expiries.first() {
            if deadline > now {
                break;
            }
            self.release(offset);
        }
    }

    fn release(&mut self, offset: u64) {
        if let Some(lease) = self.leased.remove(&offset) {
            self.ready.insert(offset, lease.attempt);
            self.drop_lease_bookkeeping(offset, lease);
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
        if self.acked_below >= start && self.next >= start {
            return;
        }
        let trimmed: Vec<u64> = self.leased.range(..start).map(|(o, _)| *o).collect();
        for offset in trimmed {
            if let Some(lease) = self.leased.remove(&offset) {
                self.drop_lease_bookkeeping(offset, lease);
            }
        }
        self.ready = self.ready.split_off(&start);
        self.acked = self.acked.split_off(&start);
        self.acked_below = self.acked_below.max(start);
        self.next = self.next.max(start);
        while self.acked.remove(&self.acked_below) {
            self.acked_below += 1;
        }
    }
}

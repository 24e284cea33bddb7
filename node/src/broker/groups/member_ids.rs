//! [`MemberIds`]: the ids this node gives members joining a consumer group.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use cluster::MemberId;

/// Issues member ids: a random per-process prefix and a sequence number, so ids
/// from different processes (and restarts) do not collide. `apply` rejects a
/// duplicate id anyway, so a collision could only fail a join, never merge two
/// members.
#[derive(Debug)]
pub struct MemberIds {
    prefix: u64,
    next: AtomicU64,
}

impl MemberIds {
    pub fn new() -> Self {
        // `RandomState` is seeded from the OS's randomness.
        let prefix = RandomState::new().hash_one(std::process::id());
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    pub fn issue(&self) -> MemberId {
        let sequence = self.next.fetch_add(1, Ordering::Relaxed);
        MemberId::new(format!("m-{:016x}-{sequence}", self.prefix))
            .unwrap_or_else(|e| unreachable!("generated member ids are valid: {e}"))
    }
}

impl Default for MemberIds {
    fn default() -> Self {
        Self::new()
    }
}

//! The ids this node gives members joining a consumer group: UUID v7.
//!
//! A v7 UUID carries its issue time in milliseconds (here the broker's clock,
//! the time of the join) and 74 random bits, so ids issued by different
//! nodes, processes or restarts do not collide, and they sort by join time.
//! `apply` rejects a duplicate id anyway, so a collision could only fail a
//! join, never merge two members.
//!
//! [`MemberId`] itself stays a string of `[A-Za-z0-9._-]` (a hyphenated UUID
//! is one): the Raft log and snapshots of earlier releases hold ids of the
//! form `m-<16 hex digits>-<sequence>`, which must still load, and clients
//! holding such an id keep using it until their member expires.

use cluster::MemberId;
use uuid::{NoContext, Timestamp, Uuid};

/// A fresh member id for a join at `now_millis` (Unix milliseconds).
pub fn new_member_id(now_millis: u64) -> MemberId {
    let seconds = now_millis / 1000;
    let nanos = (now_millis % 1000) as u32 * 1_000_000;
    let uuid = Uuid::new_v7(Timestamp::from_unix(NoContext, seconds, nanos));
    MemberId::new(uuid.hyphenated().to_string())
        .unwrap_or_else(|e| unreachable!("a hyphenated UUID is a valid member id: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOINED_AT: u64 = 1_767_225_600_123;

    #[test]
    fn issued_ids_are_uuid_v7_carrying_the_join_time() {
        let id = new_member_id(JOINED_AT);
        let uuid = Uuid::parse_str(id.as_str()).expect("a member id parses as a UUID");
        assert_eq!(uuid.get_version_num(), 7, "{id} is a version 7 UUID");
        let (seconds, nanos) = uuid
            .get_timestamp()
            .expect("a v7 UUID has a timestamp")
            .to_unix();
        assert_eq!(seconds * 1000 + u64::from(nanos) / 1_000_000, JOINED_AT);
    }

    #[test]
    fn ids_issued_in_the_same_millisecond_differ() {
        let ids: std::collections::BTreeSet<MemberId> =
            (0..1000).map(|_| new_member_id(JOINED_AT)).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn ids_of_earlier_releases_are_still_member_ids() {
        MemberId::new("m-9f86d081884c7d65-42")
            .expect("an id from the Raft log of an earlier release");
    }
}

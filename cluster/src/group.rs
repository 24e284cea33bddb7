//! Consumer groups: the members of one `partitioned` subscription, and which
//! partition each of them consumes.
//!
//! Invariants of a [`ConsumerGroup`], kept by every method here:
//! - with at least one member, `assignment` maps every partition of the topic
//!   to exactly one member, counts differ by at most one (see [`crate::assignment`]);
//!   with no member it is empty;
//! - `generation` increases by exactly one whenever `assignment` changes, and
//!   only then. So a `(generation, partition)` pair names one member forever.
//!
//! Time arrives in the commands (`at_millis`): a member is expired once
//! `at_millis - last_heartbeat_millis >= session_timeout_millis`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MetadataError, SubscriptionName, assignment};

/// Shortest session timeout a member may ask for, in seconds.
pub const MIN_SESSION_TIMEOUT_SECONDS: u32 = 6;
/// Longest session timeout, in seconds.
pub const MAX_SESSION_TIMEOUT_SECONDS: u32 = 300;
/// Session timeout when a member asks for none, in seconds.
pub const DEFAULT_SESSION_TIMEOUT_SECONDS: u32 = 30;
/// Most members of one group. Bounds the replicated state a join loop can create.
pub const MAX_GROUP_MEMBERS: usize = 1024;
/// Longest member id, in bytes.
pub const MAX_MEMBER_ID_LEN: usize = 64;

/// Identifies one member of one group. Chosen by the node that handles the join
/// (never inside `apply`, which must stay deterministic).
///
/// Syntax: 1 to [`MAX_MEMBER_ID_LEN`] characters of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberId(String);

impl MemberId {
    /// The syntax as a regular expression, for the OpenAPI document: an id
    /// matches it exactly when [`MemberId::new`] accepts it.
    pub fn pattern() -> String {
        format!("^[A-Za-z0-9._-]{{1,{MAX_MEMBER_ID_LEN}}}$")
    }

    pub fn new(id: impl Into<String>) -> Result<Self, MetadataError> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= MAX_MEMBER_ID_LEN
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(Self(id))
        } else {
            Err(MetadataError::InvalidArgument {
                field: "memberId".into(),
                reason: format!(
                    "{id:?} is not a member id (1 to {MAX_MEMBER_ID_LEN} of A-Z a-z 0-9 . _ -)"
                ),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberId {
    type Error = MetadataError;
    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl From<MemberId> for String {
    fn from(id: MemberId) -> String {
        id.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a session timeout against the documented bounds.
pub fn validate_session_timeout(millis: u64) -> Result<(), MetadataError> {
    let min = u64::from(MIN_SESSION_TIMEOUT_SECONDS) * 1000;
    let max = u64::from(MAX_SESSION_TIMEOUT_SECONDS) * 1000;
    if (min..=max).contains(&millis) {
        Ok(())
    } else {
        Err(MetadataError::InvalidArgument {
            field: "sessionTimeoutSeconds".into(),
            reason: format!(
                "must be between {MIN_SESSION_TIMEOUT_SECONDS} and {MAX_SESSION_TIMEOUT_SECONDS} seconds, got {}",
                millis as f64 / 1000.0
            ),
        })
    }
}

/// One member's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub session_timeout_millis: u64,
    /// Unix milliseconds of the join or the latest heartbeat.
    pub last_heartbeat_millis: u64,
}

impl Member {
    /// Whether the session has run out at `at_millis`.
    pub fn is_expired(&self, at_millis: u64) -> bool {
        at_millis.saturating_sub(self.last_heartbeat_millis) >= self.session_timeout_millis
    }
}

/// What one member should consume, as of one generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAssignment {
    pub member_id: MemberId,
    pub generation: u64,
    /// In ascending order; empty when the group has more members than partitions.
    pub partitions: Vec<u32>,
}

/// The consumer group of one partitioned subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerGroup {
    generation: u64,
    members: BTreeMap<MemberId, Member>,
    /// Partition → member.
    assignment: BTreeMap<u32, MemberId>,
}

impl ConsumerGroup {
    /// 0 until the first assignment; then one more at every assignment change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn members(&self) -> &BTreeMap<MemberId, Member> {
        &self.members
    }

    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.get(id)
    }

    /// Partition → member, covering every partition while there is a member.
    pub fn assignment(&self) -> &BTreeMap<u32, MemberId> {
        &self.assignment
    }

    /// The partitions of `id`, ascending (empty for a non-member).
    pub fn partitions_of(&self, id: &MemberId) -> Vec<u32> {
        self.assignment
            .iter()
            .filter(|(_, m)| *m == id)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Members whose session has run out at `at_millis`, in id order.
    pub fn expired_members(&self, at_millis: u64) -> Vec<MemberId> {
        self.members
            .iter()
            .filter(|(_, m)| m.is_expired(at_millis))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The assignment of a current member, or [`MetadataError::UnknownMember`].
    pub fn assignment_of(
        &self,
        subscription: &SubscriptionName,
        id: &MemberId,
    ) -> Result<MemberAssignment, MetadataError> {
        if !self.members.contains_key(id) {
            return Err(unknown(subscription, id));
        }
        Ok(MemberAssignment {
            member_id: id.clone(),
            generation: self.generation,
            partitions: self.partitions_of(id),
        })
    }

    pub(crate) fn join(
        &mut self,
        subscription: &SubscriptionName,
        id: MemberId,
        session_timeout_millis: u64,
        at_millis: u64,
        partitions: u32,
    ) -> Result<MemberAssignment, MetadataError> {
        validate_session_timeout(session_timeout_millis)?;
        if self.members.contains_key(&id) {
            return Err(MetadataError::MemberAlreadyExists {
                subscription: subscription.to_string(),
                member_id: id.into(),
            });
        }
        if self.members.len() >= MAX_GROUP_MEMBERS {
            return Err(MetadataError::GroupFull {
                subscription: subscription.to_string(),
                max: MAX_GROUP_MEMBERS,
            });
        }
        self.members.insert(
            id.clone(),
            Member {
                session_timeout_millis,
                last_heartbeat_millis: at_millis,
            },
        );
        self.rebalance(partitions);
        self.assignment_of(subscription, &id)
    }

    /// Records a heartbeat. A stale `generation` is fine (the reply carries the
    /// current assignment); one from the future cannot come from this group.
    pub(crate) fn heartbeat(
        &mut self,
        subscription: &SubscriptionName,
        id: &MemberId,
        generation: u64,
        at_millis: u64,
    ) -> Result<MemberAssignment, MetadataError> {
        let current = self.generation;
        let member = self
            .members
            .get_mut(id)
            .ok_or_else(|| unknown(subscription, id))?;
        if generation > current {
            return Err(MetadataError::GenerationAhead {
                generation,
                current,
            });
        }
        // Heartbeats may arrive out of order; a session never moves back in time.
        member.last_heartbeat_millis = member.last_heartbeat_millis.max(at_millis);
        self.assignment_of(subscription, id)
    }

    pub(crate) fn leave(
        &mut self,
        subscription: &SubscriptionName,
        id: &MemberId,
        partitions: u32,
    ) -> Result<(), MetadataError> {
        self.members
            .remove(id)
            .ok_or_else(|| unknown(subscription, id))?;
        self.rebalance(partitions);
        Ok(())
    }

    /// Removes every member whose session ran out; returns them.
    pub(crate) fn expire(&mut self, at_millis: u64, partitions: u32) -> Vec<MemberId> {
        let expired = self.expired_members(at_millis);
        if !expired.is_empty() {
            for id in &expired {
                self.members.remove(id);
            }
            self.rebalance(partitions);
        }
        expired
    }

    fn rebalance(&mut self, partitions: u32) {
        let members: BTreeSet<MemberId> = self.members.keys().cloned().collect();
        let next = assignment::assign(partitions, &members, &self.assignment);
        if next != self.assignment {
            self.assignment = next;
            self.generation += 1;
        }
    }
}

fn unknown(subscription: &SubscriptionName, id: &MemberId) -> MetadataError {
    MetadataError::UnknownMember {
        subscription: subscription.to_string(),
        member_id: id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub() -> SubscriptionName {
        SubscriptionName::new("workers").expect("valid")
    }
    fn id(name: &str) -> MemberId {
        MemberId::new(name).expect("valid")
    }

    #[test]
    fn member_id_syntax() {
        for ok in ["a", "m-0123abcd.7_x", &"x".repeat(64)] {
            assert!(MemberId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(MemberId::new(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<MemberId>("\"a b\"").is_err());
    }

    #[test]
    fn session_timeout_bounds_are_inclusive() {
        assert!(validate_session_timeout(5_999).is_err());
        assert!(validate_session_timeout(6_000).is_ok());
        assert!(validate_session_timeout(300_000).is_ok());
        assert!(validate_session_timeout(300_001).is_err());
    }

    #[test]
    fn expiry_happens_exactly_at_the_session_timeout() {
        let member = Member {
            session_timeout_millis: 10_000,
            last_heartbeat_millis: 1_000,
        };
        assert!(!member.is_expired(10_999));
        assert!(member.is_expired(11_000));
        assert!(
            !member.is_expired(0),
            "a clock behind the heartbeat expires nothing"
        );
    }

    #[test]
    fn generation_moves_only_when_the_assignment_does() {
        let mut group = ConsumerGroup::default();
        let a = group.join(&sub(), id("a"), 10_000, 0, 1).expect("a joins");
        assert_eq!((a.generation, a.partitions), (1, vec![0]));

        let b = group.join(&sub(), id("b"), 10_000, 0, 1).expect("b joins");
        assert_eq!(
            (b.generation, b.partitions),
            (1, vec![]),
            "one partition, already held by a: nothing moves"
        );

        group.leave(&sub(), &id("a"), 1).expect("a leaves");
        assert_eq!(group.generation(), 2);
        assert_eq!(group.partitions_of(&id("b")), vec![0]);
    }

    #[test]
    fn heartbeats_catch_up_old_generations_and_reject_future_ones() {
        let mut group = ConsumerGroup::default();
        group.join(&sub(), id("a"), 10_000, 0, 4).expect("join");
        group.join(&sub(), id("b"), 10_000, 0, 4).expect("join");
        let caught_up = group
            .heartbeat(&sub(), &id("a"), 1, 5_000)
            .expect("old generation is fine");
        assert_eq!(caught_up.generation, 2);
        assert_eq!(caught_up.partitions.len(), 2);
        let err = group
            .heartbeat(&sub(), &id("a"), 3, 5_000)
            .expect_err("future generation");
        assert!(matches!(
            err,
            MetadataError::GenerationAhead {
                generation: 3,
                current: 2
            }
        ));
        let before = group.member(&id("a")).copied();
        group
            .heartbeat(&sub(), &id("a"), 2, 1_000)
            .expect("late heartbeat");
        assert_eq!(
            group.member(&id("a")).copied(),
            before,
            "time never goes back"
        );
    }

    #[test]
    fn errors_leave_the_group_unchanged() {
        let mut group = ConsumerGroup::default();
        group.join(&sub(), id("a"), 10_000, 0, 4).expect("join");
        let before = group.clone();
        assert!(matches!(
            group.join(&sub(), id("a"), 10_000, 0, 4),
            Err(MetadataError::MemberAlreadyExists { .. })
        ));
        assert!(matches!(
            group.join(&sub(), id("b"), 1_000, 0, 4),
            Err(MetadataError::InvalidArgument { .. })
        ));
        assert!(matches!(
            group.heartbeat(&sub(), &id("zz"), 1, 0),
            Err(MetadataError::UnknownMember { .. })
        ));
        assert!(matches!(
            group.leave(&sub(), &id("zz"), 4),
            Err(MetadataError::UnknownMember { .. })
        ));
        assert_eq!(group, before);
    }

    #[test]
    fn expiry_removes_only_lapsed_members_and_reassigns_their_partitions() {
        let mut group = ConsumerGroup::default();
        group.join(&sub(), id("a"), 10_000, 0, 6).expect("join");
        group.join(&sub(), id("b"), 10_000, 0, 6).expect("join");
        group.join(&sub(), id("c"), 20_000, 0, 6).expect("join");
        let generation = group.generation();
        group
            .heartbeat(&sub(), &id("a"), generation, 5_000)
            .expect("a is alive");
        assert!(group.expire(9_999, 6).is_empty());
        assert_eq!(group.expire(10_000, 6), vec![id("b")]);
        assert_eq!(group.generation(), generation + 1);
        assert_eq!(group.partitions_of(&id("a")).len(), 3);
        assert_eq!(group.partitions_of(&id("c")).len(), 3);
    }

    proptest::proptest! {
        #[test]
        fn the_documented_pattern_accepts_exactly_the_valid_member_ids(id in "(?s).{0,80}|[A-Za-z0-9._-]{0,80}") {
            let pattern = regex::Regex::new(&MemberId::pattern()).expect("the pattern compiles");
            proptest::prop_assert_eq!(pattern.is_match(&id), MemberId::new(id.clone()).is_ok(), "{:?}", id);
        }
    }
}

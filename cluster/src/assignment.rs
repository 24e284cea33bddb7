//! Sticky, balanced assignment of a topic's partitions to consumer-group members.
//!
//! [`assign`] guarantees, whenever there is at least one member:
//! 1. **coverage**: every partition `0..partitions` is assigned to exactly one
//!    member, and only current members are assigned anything;
//! 2. **balance**: per-member partition counts differ by at most one;
//! 3. **stickiness**: among all assignments with 1 and 2, it keeps the largest
//!    possible number of partitions with the member that held them before, so
//!    a rebalance moves as few partitions as possible.
//!
//! How: with `n` members, `base = partitions / n` and `extra = partitions % n`,
//! every balanced assignment gives `extra` members `base + 1` partitions and the
//! others `base`. A member that kept `k` partitions can keep `min(k, quota)` of
//! them, and the `+1` only helps a member with `k > base`, so the `extra` larger
//! quotas go to the members that kept the most. Each member keeps its lowest
//! partitions up to its quota; the released and unowned partitions then fill the
//! members below quota, in member order. Ties break by member id, so the result
//! is a pure function of the inputs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use crate::MemberId;

/// Assigns `0..partitions` to `members`, moving as few partitions away from
/// `previous` (partition → member) as balance allows. Entries of `previous`
/// for departed members or for partitions out of range are ignored. With no
/// member, nothing is assigned.
pub fn assign(
    partitions: u32,
    members: &BTreeSet<MemberId>,
    previous: &BTreeMap<u32, MemberId>,
) -> BTreeMap<u32, MemberId> {
    let mut out = BTreeMap::new();
    if members.is_empty() || partitions == 0 {
        return out;
    }
    let count = members.len();
    let base = partitions as usize / count;
    let extra = partitions as usize % count;

    let mut kept: BTreeMap<&MemberId, Vec<u32>> = members.iter().map(|m| (m, Vec::new())).collect();
    for (partition, member) in previous.range(..partitions) {
        if let Some(held) = kept.get_mut(member) {
            held.push(*partition);
        }
    }

    // Stable sort: among members that kept as many partitions, id order decides.
    let mut by_kept: Vec<&MemberId> = members.iter().collect();
    by_kept.sort_by_key(|m| Reverse(kept.get(m).map_or(0, Vec::len)));
    let quota: BTreeMap<&MemberId, usize> = by_kept
        .into_iter()
        .enumerate()
        .map(|(rank, m)| (m, base + usize::from(rank < extra)))
        .collect();

    let mut filled: BTreeMap<&MemberId, usize> = BTreeMap::new();
    for (member, held) in &kept {
        let keep = quota[member].min(held.len());
        for partition in &held[..keep] {
            out.insert(*partition, (*member).clone());
        }
        filled.insert(member, keep);
    }

    let free: Vec<u32> = (0..partitions).filter(|p| !out.contains_key(p)).collect();
    let mut free = free.into_iter();
    for member in members {
        for _ in filled[member]..quota[member] {
            // The quotas sum to `partitions`, so there is always a free partition here.
            if let Some(partition) = free.next() {
                out.insert(partition, member.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(name: &str) -> MemberId {
        MemberId::new(name).expect("valid member id")
    }

    fn counts(assignment: &BTreeMap<u32, MemberId>, members: &BTreeSet<MemberId>) -> Vec<usize> {
        members
            .iter()
            .map(|m| assignment.values().filter(|v| *v == m).count())
            .collect()
    }

    /// Partitions whose member is the same before and after.
    fn kept(previous: &BTreeMap<u32, MemberId>, next: &BTreeMap<u32, MemberId>) -> usize {
        next.iter()
            .filter(|(p, m)| previous.get(p) == Some(m))
            .count()
    }

    /// The most partitions any covering, balanced assignment can keep, by
    /// trying every assignment (tiny inputs only): an oracle independent of
    /// the reasoning in `assign`.
    fn best_possible_kept(
        partitions: u32,
        members: &BTreeSet<MemberId>,
        previous: &BTreeMap<u32, MemberId>,
    ) -> usize {
        let members: Vec<&MemberId> = members.iter().collect();
        let n = members.len();
        let total = n.pow(partitions);
        let mut best = 0;
        for code in 0..total {
            let mut rest = code;
            let mut per_member = vec![0usize; n];
            let mut keep = 0;
            for partition in 0..partitions {
                let owner = rest % n;
                rest /= n;
                per_member[owner] += 1;
                if previous.get(&partition) == Some(members[owner]) {
                    keep += 1;
                }
            }
            let (min, max) = (per_member.iter().min(), per_member.iter().max());
            if let (Some(min), Some(max)) = (min, max)
                && max - min <= 1
            {
                best = best.max(keep);
            }
        }
        best
    }

    #[test]
    fn twelve_partitions_three_members_then_one_leaves() {
        let three: BTreeSet<MemberId> = ["a", "b", "c"].map(id).into();
        let first = assign(12, &three, &BTreeMap::new());
        assert_eq!(counts(&first, &three), vec![4, 4, 4]);

        let two: BTreeSet<MemberId> = ["a", "b"].map(id).into();
        let second = assign(12, &two, &first);
        assert_eq!(counts(&second, &two), vec![6, 6]);
        for (partition, member) in &first {
            if two.contains(member) {
                assert_eq!(&second[partition], member, "partition {partition} moved");
            }
        }
    }

    #[test]
    fn no_member_means_no_assignment() {
        let previous = BTreeMap::from([(0, id("gone"))]);
        assert!(assign(4, &BTreeSet::new(), &previous).is_empty());
    }

    #[test]
    fn more_members_than_partitions_leaves_some_idle() {
        let members: BTreeSet<MemberId> = ["a", "b", "c"].map(id).into();
        let out = assign(2, &members, &BTreeMap::new());
        assert_eq!(out.len(), 2);
        let mut c = counts(&out, &members);
        c.sort_unstable();
        assert_eq!(c, vec![0, 1, 1]);
    }

    fn pool() -> Vec<MemberId> {
        (0..6).map(|i| id(&format!("m{i}"))).collect()
    }

    fn arb_case() -> impl Strategy<Value = (u32, BTreeSet<MemberId>, BTreeMap<u32, MemberId>)> {
        let members = prop::sample::subsequence(pool(), 0..=6)
            .prop_map(|v| v.into_iter().collect::<BTreeSet<_>>());
        (0u32..40, members).prop_flat_map(|(partitions, members)| {
            // Previous owners include departed members and out-of-range partitions.
            let previous = prop::collection::btree_map(
                0..partitions + 3,
                prop::sample::select(pool()),
                0..=(partitions as usize + 3),
            );
            (Just(partitions), Just(members), previous)
        })
    }

    fn arb_tiny_case() -> impl Strategy<Value = (u32, BTreeSet<MemberId>, BTreeMap<u32, MemberId>)>
    {
        let small_pool: Vec<MemberId> = pool().into_iter().take(4).collect();
        let members = prop::sample::subsequence(small_pool.clone(), 1..=3)
            .prop_map(|v| v.into_iter().collect::<BTreeSet<_>>());
        (0u32..=6, members).prop_flat_map(move |(partitions, members)| {
            let previous = prop::collection::btree_map(
                0..partitions.max(1),
                prop::sample::select(small_pool.clone()),
                0..=partitions as usize,
            );
            (Just(partitions), Just(members), previous)
        })
    }

    proptest! {
        #[test]
        fn every_partition_is_assigned_exactly_once_to_a_member(
            (partitions, members, previous) in arb_case()
        ) {
            let out = assign(partitions, &members, &previous);
            if members.is_empty() {
                prop_assert!(out.is_empty());
            } else {
                let keys: Vec<u32> = out.keys().copied().collect();
                prop_assert_eq!(keys, (0..partitions).collect::<Vec<_>>());
                prop_assert!(out.values().all(|m| members.contains(m)));
            }
        }

        #[test]
        fn member_counts_differ_by_at_most_one((partitions, members, previous) in arb_case()) {
            let out = assign(partitions, &members, &previous);
            let c = counts(&out, &members);
            if let (Some(min), Some(max)) = (c.iter().min(), c.iter().max()) {
                prop_assert!(max - min <= 1, "counts {:?}", c);
            }
        }

        /// Against an exhaustive search over every balanced assignment.
        #[test]
        fn keeps_as_many_partitions_as_any_balanced_assignment(
            (partitions, members, previous) in arb_tiny_case()
        ) {
            let out = assign(partitions, &members, &previous);
            prop_assert_eq!(
                kept(&previous, &out),
                best_possible_kept(partitions, &members, &previous)
            );
        }

        /// Against the closed form for the optimum, on larger inputs.
        #[test]
        fn keeps_the_optimal_number_of_partitions((partitions, members, previous) in arb_case()) {
            prop_assume!(!members.is_empty());
            let out = assign(partitions, &members, &previous);
            let n = members.len();
            let base = partitions as usize / n;
            let extra = partitions as usize % n;
            let held: Vec<usize> = members
                .iter()
                .map(|m| previous.range(..partitions).filter(|(_, v)| *v == m).count())
                .collect();
            let optimum = held.iter().map(|k| (*k).min(base)).sum::<usize>()
                + extra.min(held.iter().filter(|k| **k > base).count());
            prop_assert_eq!(kept(&previous, &out), optimum);
        }

        /// A balanced assignment of the same members is left alone.
        #[test]
        fn a_settled_assignment_does_not_move((partitions, members, previous) in arb_case()) {
            let once = assign(partitions, &members, &previous);
            prop_assert_eq!(assign(partitions, &members, &once), once);
        }
    }
}

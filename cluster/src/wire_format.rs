//! Which stored format a serialized value needs.
//!
//! Commands and metadata outlive the release that wrote them and cross between
//! peers of two releases during a rolling upgrade (the `raft` crate's
//! `log_format` says which format version holds which layout). A value is
//! written in the oldest format whose layout holds it, so that a peer of an
//! older release reads every value except one that only a newer format can
//! say, and refuses that one by name. The parts of a type that a later format
//! added mark themselves while they are serialized (`since`); the encoder
//! asks [`needed_while`] what the value it serialized needs.
//!
//! The mark is a thread-local cell: serialization is synchronous, so what one
//! [`needed_while`] call sees is exactly what its closure serialized.

use std::cell::Cell;

use serde::{Serialize, Serializer};

/// The first format, the layout every type had in release 0.1.
pub const FORMAT_V1: u8 = 1;

/// The second format: the first plus `Command::MovePartitions`.
pub const FORMAT_V2: u8 = 2;

thread_local! {
    static NEEDED: Cell<u8> = const { Cell::new(FORMAT_V1) };
}

/// Runs `serialize` and returns its result with the oldest format version
/// whose layout holds everything it serialized: [`FORMAT_V1`] unless a part
/// that a later format added was serialized.
pub fn needed_while<R>(serialize: impl FnOnce() -> R) -> (R, u8) {
    let outer = NEEDED.replace(FORMAT_V1);
    let result = serialize();
    let needed = NEEDED.replace(outer);
    // A call nested in another's serialization needs what the outer one needs.
    NEEDED.set(outer.max(needed));
    (result, needed)
}

/// Serializes `value`, marking the value being encoded as needing `version`.
pub(crate) fn since<T, S>(version: u8, value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + ?Sized,
    S: Serializer,
{
    NEEDED.with(|needed| needed.set(needed.get().max(version)));
    value.serialize(serializer)
}

/// [`since`] format 2, for a field's `serialize_with`.
pub(crate) fn since_v2<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + ?Sized,
    S: Serializer,
{
    since(FORMAT_V2, value, serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, NodeId};

    fn needed(value: &impl Serialize) -> u8 {
        needed_while(|| serde_json::to_vec(value).expect("serialize")).1
    }

    #[test]
    fn a_value_needs_the_oldest_format_that_holds_it() {
        let old = Command::SetNodeLive {
            id: NodeId::new(1),
            live: true,
        };
        let new = Command::MovePartitions { moves: Vec::new() };
        assert_eq!(needed(&old), FORMAT_V1);
        assert_eq!(needed(&new), FORMAT_V2);
        assert_eq!(needed(&vec![old.clone(), new]), FORMAT_V2);
        assert_eq!(
            needed(&vec![old]),
            FORMAT_V1,
            "nothing left over from before"
        );
    }

    #[test]
    fn a_nested_call_leaves_the_outer_one_its_mark() {
        let ((), outer) = needed_while(|| {
            let _ = needed(&Command::MovePartitions { moves: Vec::new() });
        });
        assert_eq!(outer, FORMAT_V2);
    }
}

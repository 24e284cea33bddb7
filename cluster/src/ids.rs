//! Numeric ids: [`NodeId`] and [`Epoch`].
//!
//! Each wraps a `u64` and is encoded as the bare number (serde
//! `transparent`): JSON shows the number, and postcard writes the same bytes
//! as for the plain `u64`, so Raft data directories and peers from before
//! these were types read them unchanged. They print as the number too, in
//! `Display` and `Debug` alike, so logs and error messages read as before.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! numeric_id {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(u64);

        impl $ty {
            pub const fn new(value: u64) -> Self {
                Self(value)
            }

            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $ty {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }

        impl From<$ty> for u64 {
            fn from(id: $ty) -> Self {
                id.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl FromStr for $ty {
            type Err = ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

numeric_id!(
    /// A node of the cluster (`PUBSUB_NODE_ID`): the same id in the Raft
    /// group and in partition placement.
    NodeId
);

numeric_id!(
    /// A partition's owner epoch. Every change of owner takes a fresh one from
    /// a counter that only grows ([`crate::Placement`]); storage rejects an
    /// append with an epoch older than the newest it has seen, which fences an
    /// owner that has not yet heard it lost the partition.
    Epoch
);

impl Epoch {
    /// The epoch of a partition the metadata has placed on no node: a broker
    /// without a cluster, or a cluster before any node registered. The same
    /// as the first epoch a placement hands out.
    pub const SINGLE_NODE: Self = Self(1);

    /// The epoch after this one.
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bare_numbers_on_every_wire() {
        assert_eq!(serde_json::to_string(&NodeId::new(7)).expect("json"), "7");
        assert_eq!(
            serde_json::from_str::<Epoch>("42").expect("json"),
            Epoch::new(42)
        );
        let map = std::collections::BTreeMap::from([(NodeId::new(3), "n3")]);
        assert_eq!(serde_json::to_string(&map).expect("json"), r#"{"3":"n3"}"#);
        assert_eq!(
            postcard::to_allocvec(&Epoch::new(300)).expect("postcard"),
            postcard::to_allocvec(&300u64).expect("postcard")
        );
        assert_eq!(format!("{:?}", Some(NodeId::new(2))), "Some(2)");
        assert_eq!("9".parse::<NodeId>(), Ok(NodeId::new(9)));
    }
}

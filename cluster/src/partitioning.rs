//! Which partition a message goes to.
//!
//! A message with an ordering key goes to `xxh3_64(utf8(key), seed 0) mod partitions`.
//! The function is part of the public contract: it is stable across versions and
//! easy to reproduce in any language that has XXH3, so clients can predict it.

use xxhash_rust::xxh3::xxh3_64;

/// The partition of `key` in a topic with `partitions` partitions (at least 1).
pub fn partition_for_key(key: &str, partitions: u32) -> u32 {
    debug_assert!(partitions > 0, "a topic has at least one partition");
    // The remainder is below `partitions`, so it fits in u32.
    (xxh3_64(key.as_bytes()) % u64::from(partitions.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors_never_change() {
        // Pinned: changing these breaks every client that predicts partitions.
        assert_eq!(xxh3_64(b""), 0x2d06_8005_38d3_94c2);
        assert_eq!(
            partition_for_key("", 4),
            (0x2d06_8005_38d3_94c2u64 % 4) as u32
        );
        let spread: std::collections::BTreeSet<u32> = (0..100)
            .map(|i| partition_for_key(&format!("key-{i}"), 8))
            .collect();
        assert_eq!(spread.len(), 8, "100 keys should reach all 8 partitions");
    }

    proptest! {
        #[test]
        fn always_in_range_and_deterministic(key in ".*", partitions in 1u32..2048) {
            let p = partition_for_key(&key, partitions);
            prop_assert!(p < partitions);
            prop_assert_eq!(p, partition_for_key(&key, partitions));
        }
    }
}

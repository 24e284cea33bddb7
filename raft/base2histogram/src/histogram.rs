//! [`Histogram`]: counts of `u64` values in logarithmic buckets.
//!
//! Values 0–3 have a bucket each; from 4 on, every power-of-two range `[2^k, 2^(k+1))`
//! is split into four equal buckets. That is 4 + 62 × 4 = 252 buckets for the whole
//! `u64` range, each at most 25 % wide relative to its lower bound — the bounds of the
//! real crate's default width (3), computed from the index rather than kept in a
//! table.

use std::fmt;
use std::marker::PhantomData;

use crate::percentile_stats::PercentileStats;

/// Buckets per power of two, and the one-value buckets below the first power
/// (2^(width − 1) with width 3).
const GROUP: usize = 4;
/// log2 of [`GROUP`], plus one: the bits that pick a group and an offset in it.
const WIDTH: u32 = 3;
/// Every bucket: the one-value ones, then four for each exponent 2..=63.
pub const BUCKETS: usize = GROUP * (66 - WIDTH as usize);

/// A histogram of `u64` values. `T` is the real crate's slot label type, unused here
/// (openraft names it `()`).
pub struct Histogram<T = ()> {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    label: PhantomData<fn() -> T>,
}

impl<T> Histogram<T> {
    pub fn new() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            label: PhantomData,
        }
    }

    /// Counts one occurrence of `value`.
    pub fn record(&mut self, value: u64) {
        self.record_n(value, 1);
    }

    /// Counts `n` occurrences of `value`.
    pub fn record_n(&mut self, value: u64, n: u64) {
        self.counts[bucket_of(value)] += n;
        self.total += n;
    }

    /// Values recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value at fraction `p` (0.0–1.0) of the recorded values, in sorted order:
    /// the bucket holding that rank, interpolated uniformly inside it; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64 * p).ceil() as u64).clamp(1, self.total);
        let mut before = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            if before + count >= rank {
                let (low, high) = bounds(bucket);
                let inside = (rank - before) as f64 / count as f64;
                return low + ((high - low) as f64 * inside) as u64;
            }
            before += count;
        }
        bounds(BUCKETS - 1).1
    }

    /// Samples and the percentiles 0.1, 1, 5, 10, 50, 90, 99 and 99.9.
    pub fn percentile_stats(&self) -> PercentileStats {
        PercentileStats {
            samples: self.total,
            p0_1: self.percentile(0.001),
            p1: self.percentile(0.01),
            p5: self.percentile(0.05),
            p10: self.percentile(0.10),
            p50: self.percentile(0.50),
            p90: self.percentile(0.90),
            p99: self.percentile(0.99),
            p99_9: self.percentile(0.999),
        }
    }
}

/// The bucket counting `value`.
pub fn bucket_of(value: u64) -> usize {
    if value < GROUP as u64 {
        return value as usize;
    }
    // The bits up to and including the highest set one pick the group; the two
    // bits below it, the bucket in the group.
    let shift = u64::BITS - value.leading_zeros() - WIDTH;
    let offset = ((value >> shift) as usize) & (GROUP - 1);
    GROUP + shift as usize * GROUP + offset
}

/// The lowest and highest value bucket `index` counts.
pub fn bounds(index: usize) -> (u64, u64) {
    if index < GROUP {
        return (index as u64, index as u64);
    }
    let shift = (index - GROUP) / GROUP;
    let low = (((index - GROUP) % GROUP) | GROUP) as u64;
    let step = 1u64 << shift;
    (low << shift, (low << shift) + (step - 1))
}

impl<T> Default for Histogram<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Histogram<T> {
    fn clone(&self) -> Self {
        Self {
            counts: self.counts.clone(),
            total: self.total,
            label: PhantomData,
        }
    }
}

impl<T> PartialEq for Histogram<T> {
    fn eq(&self, other: &Self) -> bool {
        self.total == other.total && self.counts == other.counts
    }
}

impl<T> Eq for Histogram<T> {}

impl<T> fmt::Debug for Histogram<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("percentiles", &self.percentile_stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once_in_order() {
        // Each bucket starts right after the previous one ends, and the last ends at
        // u64::MAX: no value is counted twice or missed.
        let mut next = 0u64;
        for index in 0..BUCKETS {
            let (low, high) = bounds(index);
            assert_eq!(
                low,
                next,
                "bucket {index} starts where {} ended",
                index.max(1) - 1
            );
            assert_eq!(bucket_of(low), index);
            assert_eq!(bucket_of(high), index);
            next = high.wrapping_add(1);
        }
        assert_eq!(bounds(BUCKETS - 1).1, u64::MAX);
        assert_eq!(BUCKETS, 252);
    }

    #[test]
    fn bounds_are_those_of_width_three() {
        // The real crate's documented examples for its default width.
        assert_eq!(bucket_of(8), 8);
        assert_eq!(bucket_of(10), 9);
        assert_eq!(bucket_of(16), 12);
        assert_eq!(bucket_of(1024), 36);
        assert_eq!(bucket_of(4096), 44);
        assert_eq!(bounds(251).0, 0b111 << 61);
        assert_eq!(bounds(15), (28, 31));
    }

    #[test]
    fn percentiles_fall_in_the_right_bucket() {
        let mut histogram = Histogram::<()>::new();
        assert_eq!(histogram.percentile_stats(), PercentileStats::default());
        for value in 1..=1000u64 {
            histogram.record(value);
        }
        let stats = histogram.percentile_stats();
        assert_eq!(stats.samples, 1000);
        // Within a bucket (at most 25 % of its lower bound) of the exact value.
        for (got, exact) in [
            (stats.p1, 10),
            (stats.p50, 500),
            (stats.p90, 900),
            (stats.p99_9, 999),
        ] {
            assert_eq!(bucket_of(got), bucket_of(exact), "{got} vs {exact}");
        }
        assert_eq!(histogram.clone(), histogram);
        histogram.record_n(7, 3);
        assert_eq!(histogram.total(), 1003);
    }
}

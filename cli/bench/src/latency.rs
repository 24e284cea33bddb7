//! Latencies in an HDR histogram (microseconds, 3 significant digits) and their summary.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Longest latency kept exactly; longer ones are recorded as this (and show as `max`).
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// A histogram of latencies. Each task keeps its own and they are merged at the end.
#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
}

/// Percentiles of a histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Latencies recorded.
    pub count: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        // 1 µs to an hour at 3 significant digits: the bounds are constants that are
        // valid, so construction cannot fail.
        let histogram = Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
            .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"));
        Self { histogram }
    }

    /// Records one latency; under 1 µs counts as 1 µs, over an hour as an hour.
    pub fn record(&mut self, latency: Duration) {
        self.record_n(latency, 1);
    }

    /// Records `count` messages that shared one latency (one batch's publish ack).
    pub fn record_n(&mut self, latency: Duration, count: u64) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, HIGHEST_MICROS);
        self.histogram.saturating_record_n(micros, count);
    }

    /// Adds another task's latencies.
    pub fn merge(&mut self, other: &Latency) {
        // Both histograms have the same bounds, so adding them cannot fail.
        let _same_bounds = self.histogram.add(&other.histogram);
    }

    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        LatencySummary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p95_us: h.value_at_quantile(0.95),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            mean_us: if h.is_empty() { 0.0 } else { h.mean() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut latency = Latency::new();
        for micros in 1..=1000 {
            latency.record(Duration::from_micros(micros));
        }
        let summary = latency.summary();
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50_us, 500);
        assert_eq!(summary.p95_us, 950);
        assert_eq!(summary.p99_us, 990);
        assert_eq!(summary.max_us, 1000);
        assert!((summary.mean_us - 500.5).abs() < 1.0, "{summary:?}");
    }

    #[test]
    fn merged_histograms_and_batches_count_every_message() {
        let mut one = Latency::new();
        one.record_n(Duration::from_micros(100), 99);
        let mut two = Latency::new();
        two.record(Duration::from_millis(50));
        one.merge(&two);
        let summary = one.summary();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_us, 100);
        assert_eq!(summary.p99_us, 100);
        // 3 significant digits: 50,000 µs is kept within 0.1 %.
        assert!(summary.max_us.abs_diff(50_000) <= 50, "{summary:?}");
    }

    #[test]
    fn out_of_range_latencies_are_clamped_and_empty_is_zero() {
        assert_eq!(Latency::new().summary(), LatencySummary::default());
        let mut latency = Latency::new();
        latency.record(Duration::from_nanos(10));
        latency.record(Duration::from_secs(10_000));
        let summary = latency.summary();
        assert_eq!(summary.p50_us, 1);
        assert!(summary.max_us >= HIGHEST_MICROS, "{summary:?}");
    }
}

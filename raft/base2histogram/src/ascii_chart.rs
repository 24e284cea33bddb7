//! [`AsciiChart`]: named histograms shown one line each, with their percentiles.

use std::fmt;

use crate::histogram::Histogram;

/// Named histograms to show together.
#[derive(Debug, Clone)]
pub struct AsciiChart<T = ()> {
    series: Vec<(String, Histogram<T>)>,
}

impl<T> Default for AsciiChart<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> AsciiChart<T> {
    pub fn new() -> Self {
        Self { series: Vec::new() }
    }

    /// Adds a histogram under `name`.
    pub fn add(mut self, name: &str, histogram: Histogram<T>) -> Self {
        self.series.push((name.to_owned(), histogram));
        self
    }

    /// One line per histogram: its name and percentiles.
    pub fn detailed(&self) -> &Self {
        self
    }

    /// The same as [`AsciiChart::detailed`]: this stand-in draws no bars.
    pub fn compact(&self) -> &Self {
        self
    }
}

impl<T> fmt::Display for AsciiChart<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .series
            .iter()
            .map(|(name, _)| name.chars().count())
            .max();
        for (name, histogram) in &self.series {
            let width = width.unwrap_or_default();
            writeln!(f, "{name:>width$}: {}", histogram.percentile_stats())?;
        }
        Ok(())
    }
}

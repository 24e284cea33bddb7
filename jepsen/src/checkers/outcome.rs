//! [`Outcome`]: what one checker found about one property.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How many example violations an outcome keeps; the counts have them all.
const EXAMPLES: usize = 10;

/// One property's verdict over a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The property, e.g. `lost-acked:leader` or `group-exclusive`.
    pub property: String,
    /// Whether the history satisfies it.
    pub passed: bool,
    /// Whether a failure fails the run: false where the scenario's faults are
    /// beyond what the property promises (its losses are measured, printed and
    /// written down, not asserted).
    pub asserted: bool,
    /// Figures: checked, violations and the property's own counts.
    pub counts: BTreeMap<String, u64>,
    /// Up to ten violations, described.
    pub examples: Vec<String>,
    /// A known broker bug this property catches, not yet fixed: its failure
    /// is printed and recorded but does not fail the run (`asserted` false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_issue: Option<String>,
}

impl Outcome {
    /// A passing, asserted outcome of `property` with no counts yet.
    pub fn new(property: impl Into<String>) -> Self {
        Self {
            property: property.into(),
            passed: true,
            asserted: true,
            counts: BTreeMap::new(),
            examples: Vec::new(),
            known_issue: None,
        }
    }

    /// Marks a failure of this property as the known issue `why`.
    pub fn known(&mut self, why: &str) {
        self.asserted = false;
        self.known_issue = Some(why.to_owned());
    }

    /// Records one violation: the outcome fails.
    pub fn violation(&mut self, description: impl Into<String>) {
        self.passed = false;
        *self.counts.entry("violations".to_owned()).or_default() += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(description.into());
        }
    }

    /// Adds `n` to the count `name`.
    pub fn count(&mut self, name: &str, n: u64) {
        *self.counts.entry(name.to_owned()).or_default() += n;
    }

    /// The count `name`, 0 when absent.
    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// Whether this outcome fails the run.
    pub fn fails_run(&self) -> bool {
        self.asserted && !self.passed
    }

    /// One line for the terminal: property, verdict and counts.
    pub fn line(&self) -> String {
        let verdict = match (self.passed, self.asserted, &self.known_issue) {
            (true, _, _) => "ok",
            (false, true, _) => "FAIL",
            (false, false, Some(_)) => "KNOWN",
            (false, false, None) => "measured",
        };
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{:<28} {:<8} {}", self.property, verdict, counts.join(" "))
    }
}

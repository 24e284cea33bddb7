//! A "Targets of issue N" table: one row per target with what was measured and a
//! verdict computed from it (met, missed, or not measured when a side is missing).

use std::fmt::Write as _;

/// A table being written, under its `## ` heading.
#[derive(Debug)]
pub struct TargetsTable {
    page: String,
}

impl TargetsTable {
    pub fn new(title: &str) -> Self {
        Self {
            page: format!("## {title}\n\n| target | measured | verdict |\n|---|---|---|\n"),
        }
    }

    /// One target: `verdict` is `None` when it could not be measured.
    pub fn row(&mut self, target: &str, measured: &str, verdict: Option<bool>) {
        let verdict = match verdict {
            Some(true) => "**met**",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let measured = measured.replace('|', "\\|");
        let _ = writeln!(self.page, "| {target} | {measured} | {verdict} |");
    }

    /// The table, followed by a blank line.
    pub fn finish(mut self) -> String {
        self.page.push('\n');
        self.page
    }
}

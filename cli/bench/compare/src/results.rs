//! The result files of one run: `<workload>__<system>.json`, each a [`bench::Report`]
//! or why that row was skipped or failed ([`Entry`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use bench::Report;

use crate::Entry;

/// Every row of one run, by (workload, system), in file-name order.
#[derive(Debug, Default)]
pub struct Results(BTreeMap<(String, String), Entry>);

impl Results {
    /// Reads every `<workload>__<system>.json` in `dir`; other files are not rows.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let mut results = BTreeMap::new();
        for file in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = file?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let Some((workload, system)) = stem.split_once("__") else {
                continue;
            };
            let text = std::fs::read_to_string(&path)?;
            let entry: Entry = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a result file", path.display()))?;
            results.insert((workload.to_owned(), system.to_owned()), entry);
        }
        Ok(Self(results))
    }

    /// The rows of one workload: (system, entry).
    pub fn of_workload<'a>(
        &'a self,
        workload: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        self.0
            .iter()
            .filter(move |((w, _), _)| w == workload)
            .map(|((_, system), entry)| (system.as_str(), entry))
    }

    /// The workloads of this run whose names start with `prefix`, in name order.
    pub fn workloads_named(&self, prefix: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .0
            .keys()
            .map(|(workload, _)| workload.as_str())
            .filter(|w| w.starts_with(prefix))
            .collect();
        names.dedup();
        names
    }

    /// The measured report of one row; `None` when it is missing, skipped or failed.
    pub fn measured(&self, workload: &str, system: &str) -> Option<&Report> {
        match self.0.get(&(workload.to_owned(), system.to_owned()))? {
            Entry::Measured(report) => Some(report),
            Entry::NotMeasured { .. } => None,
        }
    }

    /// A row made in code, for tests of the pages built from rows.
    #[cfg(test)]
    pub fn insert(&mut self, workload: &str, system: &str, report: Report) {
        self.0.insert(
            (workload.to_owned(), system.to_owned()),
            Entry::Measured(Box::new(report)),
        );
    }
}

//! The PubSubGo server's resident memory, as `run.sh` read it from `/proc/PID/status`
//! (`memory.json`): a fresh idle server, then the same server holding 1,000,000
//! unconsumed messages.

use std::path::Path;

use serde::Deserialize;

/// RSS readings in KiB.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub idle_kib: u64,
    /// The idle RSS's anonymous part (heap, stacks) and file-backed part (the
    /// binary's and libraries' pages), when the run recorded them.
    #[serde(default)]
    pub idle_anon_kib: Option<u64>,
    #[serde(default)]
    pub idle_file_kib: Option<u64>,
    pub loaded_kib: u64,
    pub loaded_messages: u64,
    pub loaded_size: u64,
}

impl Memory {
    /// `memory.json` in a run's results, or `None` when the run did not read it.
    pub fn read(results: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(results.join("memory.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn idle_mib(&self) -> f64 {
        self.idle_kib as f64 / 1024.0
    }

    /// The idle RSS, with its anonymous and file-backed parts when known.
    pub fn idle_shown(&self) -> String {
        match (self.idle_anon_kib, self.idle_file_kib) {
            (Some(anon), Some(file)) => format!(
                "{:.1} MiB ({:.1} anonymous, {:.1} file-backed)",
                self.idle_mib(),
                anon as f64 / 1024.0,
                file as f64 / 1024.0
            ),
            _ => format!("{:.1} MiB", self.idle_mib()),
        }
    }

    /// RSS holding the unconsumed messages over their payload bytes.
    pub fn loaded_ratio(&self) -> f64 {
        self.loaded_kib as f64 * 1024.0 / (self.loaded_messages * self.loaded_size).max(1) as f64
    }

    pub fn loaded_shown(&self) -> String {
        format!(
            "{:.0} MiB for {} × {} B ({:.0} MiB of payload) = {:.2}×",
            self.loaded_kib as f64 / 1024.0,
            bench::report::thousands(self.loaded_messages),
            self.loaded_size,
            (self.loaded_messages * self.loaded_size) as f64 / (1024.0 * 1024.0),
            self.loaded_ratio()
        )
    }
}

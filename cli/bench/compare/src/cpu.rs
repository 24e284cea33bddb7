//! CPU time spent during each row, as `run.sh` read it (`cpu/<workload>__<system>.json`):
//! the PubSubGo server processes' user + system time from `/proc/PID/stat` (summed over
//! every node of a cluster) and Redis's own from `INFO cpu`, both as differences over
//! the row's run. Divided by the row's acknowledged messages they give a cost per
//! message that load on the machine changes far less than a rate does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use bench::report::thousands;
use serde::Deserialize;

use crate::results::Results;

/// The CPU one row used.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuUse {
    /// User + system seconds of the PubSubGo servers; `None` for the peers.
    #[serde(default)]
    pub broker_seconds: Option<f64>,
    /// How many server processes that is.
    #[serde(default)]
    pub servers: u32,
    /// User + system seconds of the Redis server (whole process: anything else using
    /// that Redis at the time counts too).
    #[serde(default)]
    pub redis_seconds: Option<f64>,
}

/// Every row's CPU use, by (workload, system).
#[derive(Debug, Default)]
pub struct CpuUses(BTreeMap<(String, String), CpuUse>);

impl CpuUses {
    /// Reads `<results>/cpu/*.json`; a run without them has none.
    pub fn read(results: &Path) -> Self {
        let mut uses = BTreeMap::new();
        let Ok(files) = std::fs::read_dir(results.join("cpu")) else {
            return Self(uses);
        };
        for path in files.flatten().map(|file| file.path()) {
            let Some((workload, system)) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|stem| stem.split_once("__"))
            else {
                continue;
            };
            let parsed = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| serde_json::from_str::<CpuUse>(&text).ok());
            if let Some(cpu) = parsed {
                uses.insert((workload.to_owned(), system.to_owned()), cpu);
            }
        }
        Self(uses)
    }

    #[cfg(test)]
    pub fn insert(&mut self, workload: &str, system: &str, cpu: CpuUse) {
        self.0.insert((workload.to_owned(), system.to_owned()), cpu);
    }

    /// Microseconds of broker CPU and of Redis CPU per acknowledged message of a row.
    pub fn per_message(&self, results: &Results, workload: &str, system: &str) -> PerMessage {
        let cpu = self.0.get(&(workload.to_owned(), system.to_owned()));
        let messages = results
            .measured(workload, system)
            .map(|r| r.verification.expected)
            .filter(|n| *n > 0);
        let per = |seconds: Option<f64>| Some(seconds? * 1e6 / messages? as f64);
        PerMessage {
            broker_us: cpu.and_then(|c| per(c.broker_seconds)),
            redis_us: cpu.and_then(|c| per(c.redis_seconds)),
        }
    }

    /// The section listing each row's CPU per message; empty when the run read none.
    pub fn section(&self, results: &Results) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let mut page = String::from(
            "## CPU per message\n\n\
             CPU seconds (user + system) over each row's run: PubSubGo's server processes \
             from `/proc/PID/stat` (every node of a cluster summed), Redis's from `INFO cpu` \
             (the whole Redis process, so anything else using that Redis counts too), divided \
             by the row's acknowledged messages. Rows on memory storage show no Redis figure.\n\n\
             | workload | system | messages | servers | broker CPU | broker µs/msg | Redis CPU | Redis µs/msg |\n\
             |---|---|--:|--:|--:|--:|--:|--:|\n",
        );
        for ((workload, system), cpu) in &self.0 {
            let Some(report) = results.measured(workload, system) else {
                continue;
            };
            let per = self.per_message(results, workload, system);
            let on_redis = system.contains("redis");
            let seconds = |s: Option<f64>| s.map_or("—".to_owned(), |s| format!("{s:.2} s"));
            let micros = |us: Option<f64>| us.map_or("—".to_owned(), |us| format!("{us:.1}"));
            let _ = writeln!(
                page,
                "| {workload} | {system} | {} | {} | {} | {} | {} | {} |",
                thousands(report.verification.expected),
                if cpu.servers > 0 {
                    cpu.servers.to_string()
                } else {
                    "—".to_owned()
                },
                seconds(cpu.broker_seconds),
                micros(per.broker_us),
                seconds(cpu.redis_seconds.filter(|_| on_redis)),
                micros(per.redis_us.filter(|_| on_redis)),
            );
        }
        page.push('\n');
        page
    }
}

/// CPU microseconds per message; `None` where not measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerMessage {
    pub broker_us: Option<f64>,
    pub redis_us: Option<f64>,
}

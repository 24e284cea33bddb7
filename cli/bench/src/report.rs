//! The result of one run: what was asked, what was measured, what was verified.
//!
//! The JSON shape (`--format json`) is what the comparison harness reads and what CI
//! scripts may keep: fields are lowerCamelCase, latencies in microseconds, megabytes
//! are 10^6 bytes of payload (headers and framing not counted).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::latency::LatencySummary;
use crate::ledger::Verification;

/// One run of one workload against one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The broker measured, e.g. `pubsubgo`, `redis-streams`.
    pub system: String,
    /// The broker's version as it reported it.
    pub version: String,
    pub workload: Workload,
    /// From the first publish to the last publish acknowledgement.
    pub publish: Throughput,
    /// From the first publish to the last distinct message received.
    pub end_to_end: Throughput,
    /// Send to acknowledgement, per publish request (every message of a batch counts).
    pub publish_latency: LatencySummary,
    /// Send to receipt by a consumer, per distinct message.
    pub end_to_end_latency: LatencySummary,
    pub verification: Verification,
}

/// What the run was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub producers: u32,
    pub consumers: u32,
    /// Messages to publish in all, when the run is bounded by count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Seconds to publish for, when the run is bounded by time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    pub size_bytes: usize,
    /// Publish requests in flight per producer.
    pub window: u32,
    /// Messages per publish request.
    pub batch: u32,
    /// How this system was set up: transport, partitions, storage, queue type, …
    #[serde(default)]
    pub setup: BTreeMap<String, String>,
}

/// Messages and payload bytes moved in a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throughput {
    pub messages: u64,
    pub seconds: f64,
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
}

impl Throughput {
    /// `messages` of `size` bytes each in `elapsed`; zero rates when no time passed.
    pub fn new(messages: u64, size: usize, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64();
        let (msgs_per_sec, mb_per_sec) = if seconds > 0.0 {
            let rate = messages as f64 / seconds;
            (rate, rate * size as f64 / 1e6)
        } else {
            (0.0, 0.0)
        };
        Self {
            messages,
            seconds,
            msgs_per_sec,
            mb_per_sec,
        }
    }
}

impl Workload {
    /// One line that says what is about to run, like `nats bench`'s header.
    pub fn describe(&self, system: &str) -> String {
        let amount = match (self.messages, self.duration_seconds) {
            (Some(messages), _) => format!("{messages} msgs"),
            (None, Some(seconds)) => format!("{seconds} s"),
            (None, None) => "unbounded".to_owned(),
        };
        let mut line = format!(
            "bench {system}: {amount} × {} B, {} producers (window {}, batch {}), {} consumers",
            self.size_bytes, self.producers, self.window, self.batch, self.consumers
        );
        for (key, value) in &self.setup {
            let _infallible = write!(line, ", {key} {value}");
        }
        line
    }
}

impl Report {
    /// The results as a table for people; the configuration line is printed apart.
    pub fn render(&self) -> String {
        let mut text = format!(
            "{:<12}{:>12}{:>10}{:>11}{:>11}{:>11}{:>11}\n",
            "", "msgs/s", "MB/s", "p50", "p95", "p99", "max"
        );
        let rows = [
            ("publish", &self.publish, &self.publish_latency),
            ("end-to-end", &self.end_to_end, &self.end_to_end_latency),
        ];
        for (name, throughput, latency) in rows {
            let _infallible = writeln!(
                text,
                "{name:<12}{:>12}{:>10.2}{:>11}{:>11}{:>11}{:>11}",
                thousands(throughput.msgs_per_sec.round() as u64),
                throughput.mb_per_sec,
                micros(latency.p50_us),
                micros(latency.p95_us),
                micros(latency.p99_us),
                micros(latency.max_us),
            );
        }
        let v = &self.verification;
        let _infallible = write!(
            text,
            "verified: {} of {} acknowledged messages received, {} lost, {} duplicates",
            v.received.saturating_sub(v.unacknowledged),
            v.expected,
            v.lost,
            v.duplicates
        );
        if v.unacknowledged > 0 {
            let _infallible = write!(
                text,
                ", {} received without an acknowledged publish",
                v.unacknowledged
            );
        }
        text
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A latency in the unit that reads best: `850 µs`, `1.23 ms`, `2.50 s`.
pub fn micros(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.2} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            system: "pubsubgo".to_owned(),
            version: "0.1.0".to_owned(),
            workload: Workload {
                producers: 4,
                consumers: 4,
                messages: Some(200_000),
                duration_seconds: None,
                size_bytes: 256,
                window: 256,
                batch: 1,
                setup: BTreeMap::from([("transport".to_owned(), "pull".to_owned())]),
            },
            publish: Throughput::new(200_000, 256, Duration::from_secs(4)),
            end_to_end: Throughput::new(200_000, 256, Duration::from_secs(5)),
            publish_latency: LatencySummary {
                count: 200_000,
                p50_us: 850,
                p95_us: 1_500,
                p99_us: 2_345,
                max_us: 1_200_000,
                mean_us: 900.0,
            },
            end_to_end_latency: LatencySummary::default(),
            verification: Verification {
                expected: 200_000,
                received: 200_000,
                ..Verification::default()
            },
        }
    }

    #[test]
    fn throughput_is_messages_and_megabytes_per_second() {
        let throughput = Throughput::new(200_000, 256, Duration::from_secs(4));
        assert_eq!(throughput.msgs_per_sec, 50_000.0);
        assert_eq!(throughput.mb_per_sec, 12.8);
        assert_eq!(Throughput::new(5, 256, Duration::ZERO).msgs_per_sec, 0.0);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(micros(850), "850 µs");
        assert_eq!(micros(2_345), "2.35 ms");
        assert_eq!(micros(2_500_000), "2.50 s");
    }

    #[test]
    fn table_shows_rates_latencies_and_verification() {
        let text = report().render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[1].starts_with("publish") && lines[1].contains("50,000"),
            "{text}"
        );
        assert!(
            lines[1].contains("12.80") && lines[1].contains("2.35 ms"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("end-to-end") && lines[2].contains("40,000"),
            "{text}"
        );
        assert_eq!(
            lines[3],
            "verified: 200000 of 200000 acknowledged messages received, 0 lost, 0 duplicates"
        );
    }

    #[test]
    fn json_round_trips_with_camel_case_fields() {
        let report = report();
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["endToEnd"]["msgsPerSec"], 40_000.0);
        assert_eq!(json["publishLatency"]["p99Us"], 2_345);
        assert_eq!(json["workload"]["setup"]["transport"], "pull");
        assert!(json["workload"].get("durationSeconds").is_none());
        let back: Report = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, report);
    }

    #[test]
    fn configuration_line_names_the_workload() {
        assert_eq!(
            report().workload.describe("pubsubgo"),
            "bench pubsubgo: 200000 msgs × 256 B, 4 producers (window 256, batch 1), \
             4 consumers, transport pull"
        );
    }
}

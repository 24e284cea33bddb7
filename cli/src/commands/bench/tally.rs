//! What producers and consumers share while a run is going: the ledger of arrivals,
//! counters for the progress line, and the moments the run finished.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bench::ledger::Arrival;
use bench::{Latency, Ledger, Stamp};
use tokio::sync::Notify;

/// Shared by every task of one run.
#[derive(Debug)]
pub struct Tally {
    /// The run's clock: stamps carry nanoseconds since this instant.
    pub epoch: Instant,
    ledger: Mutex<Ledger>,
    /// Messages whose publish was acknowledged, for the progress line.
    pub published: AtomicU64,
    /// Nanoseconds from the epoch to the latest first arrival of a message.
    last_arrival: AtomicU64,
    /// Woken after each batch a consumer records, so the run can tell when it is done.
    pub arrivals: Notify,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            ledger: Mutex::new(Ledger::new()),
            published: AtomicU64::new(0),
            last_arrival: AtomicU64::new(0),
            arrivals: Notify::new(),
        }
    }

    /// Nanoseconds since the epoch, as stamped into payloads.
    pub fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records a consumer's batch: each first arrival's end-to-end latency goes into
    /// `latency`; duplicates only count.
    pub fn record(&self, stamps: &[Stamp], latency: &mut Latency) {
        if stamps.is_empty() {
            return;
        }
        let now = self.now_nanos();
        {
            let mut ledger = self
                .ledger
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            for stamp in stamps {
                if ledger.record(*stamp) == Arrival::First {
                    latency.record(Duration::from_nanos(
                        now.saturating_sub(stamp.sent_at_nanos),
                    ));
                }
            }
        }
        self.last_arrival.fetch_max(now, Ordering::Relaxed);
        self.arrivals.notify_one();
    }

    /// Distinct messages received so far.
    pub fn received(&self) -> u64 {
        self.ledger().unique()
    }

    /// Time from the epoch to the last first arrival.
    pub fn last_arrival(&self) -> Duration {
        Duration::from_nanos(self.last_arrival.load(Ordering::Relaxed))
    }

    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A consumer that panicked mid-batch leaves a ledger that is still consistent:
        // each record is one bit and one counter.
        self.ledger
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

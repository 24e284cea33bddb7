//! The broker's clock: wall-clock milliseconds that advance with tokio's clock.
//!
//! Reading time through tokio means a test with paused time controls every
//! deadline in the broker, while the values stay real Unix milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Unix milliseconds, anchored once and advanced by tokio's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_millis: u64,
    base: Instant,
}

impl Clock {
    pub fn new() -> Self {
        let base_millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        #[cfg(feature = "test-breaks")]
        let base_millis =
            base_millis.saturating_add_signed(crate::test_breaks::clock_offset_millis());
        Self {
            base_millis,
            base: Instant::now(),
        }
    }

    pub fn now_millis(&self) -> u64 {
        self.base_millis + u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The same clock read `by` later, e.g. a broker that restarts after a pause.
    pub fn shifted(self, by: Duration) -> Self {
        Self {
            base_millis: self.base_millis + u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
            base: self.base,
        }
    }

    /// The tokio instant at which `now_millis()` reaches `millis`.
    pub fn instant_at(&self, millis: u64) -> Instant {
        self.base + Duration::from_millis(millis.saturating_sub(self.base_millis))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

//! [`RateLimits`]: token buckets per client address and per principal
//! (governor's GCRA, which is a token bucket without a refill task). A bucket
//! holds one second's worth of requests and refills at the configured rate; a
//! request finding it empty is refused with `429 RESOURCE_EXHAUSTED` and a
//! `Retry-After` of when the next token comes.
//!
//! The address limit applies to every request but the public ones (probes
//! and the OpenAPI document), before authentication, so a flood of bad
//! credentials is also bounded; the principal limit applies after it, so one
//! busy principal cannot starve the others. Buckets of keys not seen for a
//! while are dropped every [`SWEEP_INTERVAL`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::stream_caps::{StreamCaps, StreamSlot};
use crate::config::security::RateLimitSettings;

/// How often buckets that have refilled completely are forgotten.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The buckets of one node, and its stream caps.
#[derive(Debug)]
pub struct RateLimits {
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_principal: Option<DefaultKeyedRateLimiter<String>>,
    streams: Option<Arc<StreamCaps>>,
    clock: DefaultClock,
}

impl RateLimits {
    /// `None` when no limit is set.
    pub fn new(settings: &RateLimitSettings) -> Option<Self> {
        let limits = Self {
            by_address: settings
                .address_per_second
                .map(|r| RateLimiter::keyed(Quota::per_second(r))),
            by_principal: settings
                .principal_per_second
                .map(|r| RateLimiter::keyed(Quota::per_second(r))),
            streams: settings.streams_per_principal.map(StreamCaps::new),
            clock: DefaultClock::default(),
        };
        (limits.by_address.is_some() || limits.by_principal.is_some() || limits.streams.is_some())
            .then_some(limits)
    }

    /// A slot for one more WebSocket stream of `principal` (`None`: no cap),
    /// or `Err(cap)` when it has that many open.
    pub fn open_stream(&self, principal: &str) -> Result<Option<StreamSlot>, NonZeroU32> {
        self.streams
            .as_ref()
            .map(|caps| caps.open(principal))
            .transpose()
    }

    /// `Err(wait)` when `address` has no token left.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Duration> {
        match &self.by_address {
            Some(limiter) => limiter
                .check_key(&address)
                .map_err(|n| n.wait_time_from(self.clock.now())),
            None => Ok(()),
        }
    }

    /// `Err(wait)` when `principal` has no token left.
    pub fn check_principal(&self, principal: &str) -> Result<(), Duration> {
        match &self.by_principal {
            Some(limiter) => limiter
                .check_key(&principal.to_owned())
                .map_err(|n| n.wait_time_from(self.clock.now())),
            None => Ok(()),
        }
    }

    /// Forgets full buckets every [`SWEEP_INTERVAL`] until `shutdown`, so
    /// memory follows the clients active now, not every client ever seen.
    pub async fn sweep(self: std::sync::Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(SWEEP_INTERVAL) => {}
            }
            if let Some(limiter) = &self.by_address {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            if let Some(limiter) = &self.by_principal {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_one_seconds_worth_and_keys_do_not_share() {
        let limits = RateLimits::new(&RateLimitSettings {
            principal_per_second: NonZeroU32::new(3),
            address_per_second: None,
            streams_per_principal: None,
        })
        .expect("limits");
        for _ in 0..3 {
            limits.check_principal("busy").expect("within the burst");
        }
        let wait = limits
            .check_principal("busy")
            .expect_err("the bucket is empty");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(334),
            "{wait:?}"
        );
        limits
            .check_principal("quiet")
            .expect("another principal has its own bucket");
        limits
            .check_address(IpAddr::from([127, 0, 0, 1]))
            .expect("no address limit configured");
        assert!(RateLimits::new(&RateLimitSettings::default()).is_none());
    }
}

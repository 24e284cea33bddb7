//! [`PeerSlots`]: the calling side of `--peer-max-in-flight`. This node keeps
//! at most that many calls of one kind in flight to each peer; a call beyond
//! it waits for a slot (up to its own timeout) instead of being sent and
//! refused, the way an HTTP/2 client queues streams beyond the server's
//! `MAX_CONCURRENT_STREAMS`. So a burst of client requests that all need one
//! owner (4 producers with 256 publishes in flight each, two thirds of them
//! forwarded) queues on the node that forwards them rather than failing with
//! `503`. The owner's cap (`peer_limits`) stays as the guard against callers
//! that do not queue (an older version, a larger setting); with equal
//! settings it is never reached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::telemetry::routing_metrics::RoutingMetrics;

/// At most `max` calls in flight per peer address, the rest waiting.
#[derive(Debug)]
pub struct PeerSlots {
    /// `call` or `watch`, for `pubsubgo_peer_calls_waiting`.
    kind: &'static str,
    max: usize,
    /// One semaphore per peer address, made on first use: as many entries as
    /// peers this node has called.
    peers: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Why a call got no slot: every slot stayed taken for its whole wait.
#[derive(Debug)]
pub struct NoSlot {
    pub max: usize,
    pub waited: Duration,
}

impl PeerSlots {
    pub fn new(kind: &'static str, max: usize) -> Self {
        Self {
            kind,
            max: max.max(1),
            peers: Mutex::default(),
        }
    }

    /// A slot for one call to `peer`, waiting up to `within` for one to free
    /// (counted in `metrics` while it waits); the slot is freed when the
    /// permit is dropped.
    pub async fn acquire(
        &self,
        peer: &str,
        within: Duration,
        metrics: &RoutingMetrics,
    ) -> Result<OwnedSemaphorePermit, NoSlot> {
        let semaphore = {
            let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
            match peers.get(peer) {
                Some(semaphore) => semaphore.clone(),
                None => {
                    let semaphore = Arc::new(Semaphore::new(self.max));
                    peers.insert(peer.to_owned(), semaphore.clone());
                    semaphore
                }
            }
        };
        // Fast path: a free slot, no timer.
        if let Ok(permit) = semaphore.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let no_slot = NoSlot {
            max: self.max,
            waited: within,
        };
        let _waiting = metrics.waiting(self.kind);
        match tokio::time::timeout(within, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it as no slot anyway.
            Ok(Err(_)) | Err(_) => Err(no_slot),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_call_beyond_the_cap_waits_for_a_slot_and_gives_up_after_its_wait() {
        let metrics = RoutingMetrics::default();
        let slots = PeerSlots::new("call", 2);
        let first = slots
            .acquire("a:1", Duration::ZERO, &metrics)
            .await
            .expect("slot 1");
        let _second = slots
            .acquire("a:1", Duration::ZERO, &metrics)
            .await
            .expect("slot 2");
        let other_peer = slots.acquire("b:1", Duration::ZERO, &metrics).await;
        assert!(other_peer.is_ok(), "each peer has its own slots");

        let refused = slots
            .acquire("a:1", Duration::from_millis(100), &metrics)
            .await;
        assert!(
            matches!(refused, Err(NoSlot { max: 2, .. })),
            "a third call finds no slot within its wait"
        );

        let waiting = tokio::spawn({
            let slots = Arc::new(slots);
            async move {
                slots
                    .acquire("a:1", Duration::from_secs(5), &RoutingMetrics::default())
                    .await
                    .is_ok()
            }
        });
        tokio::task::yield_now().await;
        drop(first);
        assert!(
            waiting.await.expect("task"),
            "a waiting call takes the slot a finished call frees"
        );
    }
}

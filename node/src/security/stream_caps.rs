//! [`StreamCaps`]: at most so many open WebSocket streams (`:stream`,
//! `:publishStream`) per principal. A slot is taken at the upgrade request
//! and held by the stream's task ([`StreamSlot`]); it is given back when the
//! stream ends, or at once when the upgrade fails. A principal at its cap
//! gets `429 RESOURCE_EXHAUSTED` until one of its streams closes.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

/// Open streams per principal, and the cap.
#[derive(Debug)]
pub struct StreamCaps {
    cap: NonZeroU32,
    open: Mutex<HashMap<String, u32>>,
}

/// One open stream of a principal; the slot is given back when the last
/// clone drops.
#[derive(Debug, Clone)]
pub struct StreamSlot(#[expect(dead_code, reason = "held for its drop")] Arc<Held>);

#[derive(Debug)]
struct Held {
    caps: Arc<StreamCaps>,
    principal: String,
}

impl StreamCaps {
    pub fn new(cap: NonZeroU32) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::default(),
        })
    }

    /// A slot for one more stream of `principal`, or `Err(cap)` when it has
    /// that many open already.
    pub fn open(self: &Arc<Self>, principal: &str) -> Result<StreamSlot, NonZeroU32> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(principal.to_owned()).or_default();
        if *count >= self.cap.get() {
            return Err(self.cap);
        }
        *count += 1;
        Ok(StreamSlot(Arc::new(Held {
            caps: self.clone(),
            principal: principal.to_owned(),
        })))
    }

    /// How many streams `principal` has open.
    pub fn open_streams(&self, principal: &str) -> u32 {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(principal).copied().unwrap_or(0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.principal) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.principal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_at_its_cap_is_refused_until_a_stream_closes() {
        let caps = StreamCaps::new(NonZeroU32::new(2).expect("2"));
        let first = caps.open("a").expect("first");
        let second = caps.open("a").expect("second");
        assert!(caps.open("a").is_err(), "third over the cap");
        let other = caps.open("b").expect("another principal has its own count");
        let clone = second.clone();
        drop(second);
        assert!(caps.open("a").is_err(), "a clone still holds the slot");
        drop(clone);
        let third = caps.open("a").expect("a slot came back");
        drop((first, third, other));
        assert_eq!(caps.open_streams("a"), 0);
        assert!(
            caps.open.lock().expect("lock").is_empty(),
            "nothing kept for idle principals"
        );
    }
}

//! Which StreamingPull stream holds which delivery, so that acks sent as unary
//! calls free the stream's flow-control credit.
//!
//! Google's Python and Go clients receive over StreamingPull but ack, nack and
//! extend over unary `Acknowledge`/`ModifyAckDeadline` calls, possibly on
//! another connection. Each stream registers the ack ids it sends; a unary
//! ack or nack releases them from whichever stream holds them and wakes it.
//! A held message also stops counting once its lease deadline passes (the
//! broker redelivers it then). Keys are `(subscription, ack id)`: an ack id
//! is only unique within one subscription.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// What one stream holds: ack id → (lease deadline in Unix ms, bytes).
#[derive(Debug, Default)]
pub struct StreamHold {
    held: Mutex<HashMap<String, (u64, usize)>>,
    /// Notified when a message is released from the stream by someone else.
    pub released: Notify,
}

impl StreamHold {
    fn held(&self) -> MutexGuard<'_, HashMap<String, (u64, usize)>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Messages and bytes held whose deadlines are after `now`, and the
    /// earliest of those deadlines.
    pub fn outstanding(&self, now: u64) -> (usize, usize, Option<u64>) {
        let held = self.held();
        held.values().filter(|(deadline, _)| *deadline > now).fold(
            (0, 0, None),
            |(n, bytes, first), (deadline, size)| {
                let first = Some(first.map_or(*deadline, |f: u64| f.min(*deadline)));
                (n + 1, bytes + size, first)
            },
        )
    }
}

/// Every open stream's holdings, by `(subscription, ack id)`.
#[derive(Debug, Default)]
pub struct HeldMessages {
    by_ack_id: Mutex<HashMap<(String, String), Arc<StreamHold>>>,
}

impl HeldMessages {
    fn index(&self) -> MutexGuard<'_, HashMap<(String, String), Arc<StreamHold>>> {
        self.by_ack_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that `stream` holds `ack_id` of `subscription` until `deadline`.
    pub fn hold(
        &self,
        subscription: &str,
        stream: &Arc<StreamHold>,
        ack_id: &str,
        deadline: u64,
        bytes: usize,
    ) {
        stream.held().insert(ack_id.to_owned(), (deadline, bytes));
        self.index()
            .insert((subscription.to_owned(), ack_id.to_owned()), stream.clone());
    }

    /// The deliveries were acked or nacked: their streams get the credit back.
    pub fn release(&self, subscription: &str, ack_ids: &[String]) {
        let mut index = self.index();
        for id in ack_ids {
            if let Some(stream) = index.remove(&(subscription.to_owned(), id.clone())) {
                stream.held().remove(id);
                stream.released.notify_one();
            }
        }
    }

    /// The deliveries' leases now end at `deadline`.
    pub fn extend(&self, subscription: &str, ack_ids: &[String], deadline: u64) {
        let index = self.index();
        for id in ack_ids {
            if let Some(stream) = index.get(&(subscription.to_owned(), id.clone()))
                && let Some(held) = stream.held().get_mut(id)
            {
                held.0 = deadline;
            }
        }
    }

    /// Forgets what `stream` holds past its deadlines (`now`), or everything
    /// when the stream ends (`now` = `u64::MAX`).
    pub fn expire(&self, subscription: &str, stream: &Arc<StreamHold>, now: u64) {
        let expired: Vec<String> = {
            let mut held = stream.held();
            let expired = held
                .iter()
                .filter(|(_, (deadline, _))| *deadline <= now)
                .map(|(id, _)| id.clone())
                .collect();
            held.retain(|_, (deadline, _)| *deadline > now);
            expired
        };
        let mut index = self.index();
        for id in expired {
            let key = (subscription.to_owned(), id);
            if index.get(&key).is_some_and(|s| Arc::ptr_eq(s, stream)) {
                index.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unary_ack_frees_the_holding_stream() {
        let all = HeldMessages::default();
        let stream = Arc::new(StreamHold::default());
        all.hold("s", &stream, "0.1.1.1", 1000, 10);
        all.hold("s", &stream, "0.2.1.1", 2000, 5);
        assert_eq!(stream.outstanding(0), (2, 15, Some(1000)));
        all.release("s", &["0.1.1.1".to_owned()]);
        assert_eq!(stream.outstanding(0), (1, 5, Some(2000)));
        all.extend("s", &["0.2.1.1".to_owned()], 3000);
        assert_eq!(stream.outstanding(2500), (1, 5, Some(3000)));
        all.expire("s", &stream, u64::MAX);
        assert_eq!(stream.outstanding(0), (0, 0, None));
        assert!(all.index().is_empty());
    }

    #[test]
    fn ack_ids_of_other_subscriptions_are_not_confused() {
        let all = HeldMessages::default();
        let stream = Arc::new(StreamHold::default());
        all.hold("a", &stream, "0.1.1.1", 1000, 1);
        all.release("b", &["0.1.1.1".to_owned()]);
        assert_eq!(stream.outstanding(0).0, 1);
    }
}

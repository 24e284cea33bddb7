//! [`TopicWakers`]: the wake-ups between what makes messages deliverable
//! (publishes, nacks, redrives, seeks, group changes) and what waits for them
//! (long polls, streams, push dispatchers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use cluster::TopicName;
use tokio::sync::Notify;

/// One [`Notify`] per topic, made on first use. Shared by every part of the
/// broker; a wake-up only says "look again", so a spurious one costs a look.
#[derive(Debug, Default)]
pub struct TopicWakers {
    wakers: Mutex<HashMap<TopicName, Arc<Notify>>>,
}

impl TopicWakers {
    /// Notified when `topic` may have new deliverable messages. Register
    /// interest (`Notified::enable`) before looking for work, so a wake-up
    /// between the look and the wait is not lost.
    pub fn waker(&self, topic: &TopicName) -> Arc<Notify> {
        self.lock().entry(topic.clone()).or_default().clone()
    }

    /// Wakes everyone waiting on `topic`.
    pub fn wake(&self, topic: &TopicName) {
        if let Some(waker) = self.lock().get(topic) {
            waker.notify_waiters();
        }
    }

    /// Wakes everyone waiting on a deleted topic and forgets its waker.
    pub fn forget(&self, topic: &TopicName) {
        if let Some(waker) = self.lock().remove(topic) {
            waker.notify_waiters();
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TopicName, Arc<Notify>>> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

//! [`TopicWakers`]: the wake-ups between what makes messages deliverable
//! (publishes, nacks, redrives, seeks, group changes) and what waits for them
//! (long polls, streams, push dispatchers).
//!
//! # Across nodes
//! A waiter on a node that does not own all of its topic's partitions is
//! woken by the owners: each [`TopicWaker`] counts its wake-ups in a
//! *generation*, which another node's watch compares with the one it saw last
//! (`crate::routing` holds the watch, both halves). While a waiter waits, this
//! node keeps one watch per owner node and topic ([`RemoteWatch`]); an
//! owner's answer is *relayed* to the local waiters ([`TopicWaker::relay`]),
//! which wakes them without changing this node's generation, so two nodes
//! watching each other never bounce a wake-up back and forth.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cluster::Topic;
use cluster::TopicName;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// One topic's wake-up: a [`Notify`] and the generation of its last local
/// wake-up.
#[derive(Debug)]
pub struct TopicWaker {
    notify: Notify,
    generation: AtomicU64,
    /// Wake-ups and relays so far, to tell a waiter whether one came since it
    /// last looked ([`TopicWaker::mark`]).
    notifications: AtomicU64,
    /// The node-wide counter generations are taken from.
    counter: Arc<AtomicU64>,
}

impl TopicWaker {
    /// Resolves at the next wake-up or relay. Register interest
    /// (`Notified::enable`) before looking for work, so a wake-up between the
    /// look and the wait is not lost.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// Something on this node made messages of the topic deliverable: wakes
    /// the local waiters and moves the generation, so watches from other nodes
    /// answer too.
    pub fn wake(&self) {
        let next = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        self.generation.store(next, Ordering::SeqCst);
        self.notifications.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// An owner elsewhere reported a wake-up: wakes the local waiters only.
    pub fn relay(&self) {
        self.notifications.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Changes at every wake-up and relay: a waiter that took a mark before
    /// it looked for work and finds another one before it waits missed one.
    pub fn mark(&self) -> u64 {
        self.notifications.load(Ordering::SeqCst)
    }

    /// The generation of the last local wake-up. Generations only grow, and
    /// start from the time the node started, so a watcher that saw one from
    /// before a restart sees a different one after it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// Keeps this node informed of wake-ups on other nodes for a topic while at
/// least one [`RemoteInterest`] for it is held. Set on [`TopicWakers`] by a
/// node in a cluster.
pub trait RemoteWatch: Send + Sync + std::fmt::Debug {
    /// Starts (or joins) watching the owners of `topic`'s partitions other
    /// than this node, until the returned interest is dropped.
    fn watch(&self, topic: &Topic) -> RemoteInterest;
}

/// Held while a waiter waits; dropping it ends its interest.
pub struct RemoteInterest(#[expect(dead_code, reason = "held for its drop")] Box<dyn Send>);

impl RemoteInterest {
    pub fn new(held: impl Send + 'static) -> Self {
        Self(Box::new(held))
    }
}

impl std::fmt::Debug for RemoteInterest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteInterest")
    }
}

/// One [`TopicWaker`] per topic, made on first use. Shared by every part of
/// the broker; a wake-up only says "look again", so a spurious one costs a
/// look.
#[derive(Debug)]
pub struct TopicWakers {
    wakers: Mutex<HashMap<TopicName, Arc<TopicWaker>>>,
    counter: Arc<AtomicU64>,
    remote: OnceLock<Arc<dyn RemoteWatch>>,
}

impl Default for TopicWakers {
    fn default() -> Self {
        // Microseconds since the epoch: larger than any generation a previous
        // run of this node handed out.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        Self {
            wakers: Mutex::default(),
            counter: Arc::new(AtomicU64::new(start)),
            remote: OnceLock::new(),
        }
    }
}

impl TopicWakers {
    /// Notified when `topic` may have new deliverable messages.
    pub fn waker(&self, topic: &TopicName) -> Arc<TopicWaker> {
        self.lock()
            .entry(topic.clone())
            .or_insert_with(|| {
                Arc::new(TopicWaker {
                    notify: Notify::new(),
                    generation: AtomicU64::new(self.counter.load(Ordering::SeqCst)),
                    notifications: AtomicU64::new(0),
                    counter: self.counter.clone(),
                })
            })
            .clone()
    }

    /// Wakes everyone waiting on `topic`, here and on watching nodes.
    pub fn wake(&self, topic: &TopicName) {
        self.waker(topic).wake();
    }

    /// Wakes everyone waiting on a deleted topic and forgets its waker.
    pub fn forget(&self, topic: &TopicName) {
        if let Some(waker) = self.lock().remove(topic) {
            waker.wake();
        }
    }

    /// Sets how this node watches other nodes; the first call wins.
    pub fn set_remote(&self, remote: Arc<dyn RemoteWatch>) {
        let _ = self.remote.set(remote);
    }

    /// While the returned interest is held, wake-ups on the other owners of
    /// `topic`'s partitions are relayed to this node's waiters. `None` on a
    /// node that watches no one (a single node, or tests).
    pub fn watch_remote(&self, topic: &Topic) -> Option<RemoteInterest> {
        self.remote.get().map(|remote| remote.watch(topic))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TopicName, Arc<TopicWaker>>> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

//! [`SimWatch`]: openraft's watch channel for the simulation, whose waiting
//! receivers wake in an order fixed by the run.
//!
//! Why not Tokio's `watch`: it spreads its waiting receivers over eight
//! `Notify`s, picking one per wait from the runtime's random generator, which
//! Tokio seeds from the OS (only the unstable `rng_seed` fixes it), and wakes
//! them `Notify` by `Notify`. Two openraft tasks waiting on one watch (the
//! replication streams to two followers, waiting for new log entries) then
//! run in an order that differs between processes, draw the network's
//! latencies in that order, and the same seed gives another trace. Here every
//! waiter waits on one `Notify`, so the wake order is the order of waiting.

use std::ops::Deref;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use openraft_rt::watch::{RecvError, SendError, Watch, WatchReceiver, WatchSender};
use openraft_rt::{OptionalSend, OptionalSync};
use tokio::sync::Notify;

/// The watch channel type openraft asks the runtime for.
#[derive(Debug)]
pub struct SimWatch;

/// The value and how many times it was replaced.
#[derive(Debug)]
struct Slot<T> {
    value: T,
    version: u64,
}

#[derive(Debug)]
struct Shared<T> {
    slot: RwLock<Slot<T>>,
    /// Every waiting receiver, woken in the order it started waiting.
    changed: Notify,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Every sender is gone.
    closed: AtomicBool,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, Slot<T>> {
        self.slot.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// A borrowed value: the channel's read lock, held while it lives.
pub struct SimRef<'a, T>(RwLockReadGuard<'a, Slot<T>>);

impl<T: std::fmt::Debug> std::fmt::Debug for SimRef<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.value.fmt(f)
    }
}

impl<T> Deref for SimRef<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0.value
    }
}

/// The sending half; the channel closes when the last one is dropped.
#[derive(Debug)]
pub struct SimWatchSender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half: it has seen the value up to `seen`.
#[derive(Debug)]
pub struct SimWatchReceiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

impl Watch for SimWatch {
    type Sender<T: OptionalSend + OptionalSync> = SimWatchSender<T>;
    type Receiver<T: OptionalSend + OptionalSync> = SimWatchReceiver<T>;
    type Ref<'a, T: OptionalSend + 'a> = SimRef<'a, T>;

    fn channel<T: OptionalSend + OptionalSync>(
        init: T,
    ) -> (SimWatchSender<T>, SimWatchReceiver<T>) {
        let shared = Arc::new(Shared {
            slot: RwLock::new(Slot {
                value: init,
                version: 0,
            }),
            changed: Notify::new(),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            closed: AtomicBool::new(false),
        });
        let receiver = SimWatchReceiver {
            shared: shared.clone(),
            seen: 0,
        };
        (SimWatchSender { shared }, receiver)
    }
}

impl<T> Clone for SimWatchSender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::SeqCst);
        SimWatchSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for SimWatchSender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.closed.store(true, Ordering::SeqCst);
            self.shared.changed.notify_waiters();
        }
    }
}

impl<T> WatchSender<SimWatch, T> for SimWatchSender<T>
where
    T: OptionalSend + OptionalSync,
{
    /// As Tokio's: refused, and the value kept out, when no receiver is left.
    fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::SeqCst) == 0 {
            return Err(SendError(value));
        }
        self.send_if_modified(|current| {
            *current = value;
            true
        });
        Ok(())
    }

    fn send_if_modified<F>(&self, modify: F) -> bool
    where
        F: FnOnce(&mut T) -> bool,
    {
        let modified = {
            let mut slot = self.shared.slot.write().unwrap_or_else(|p| p.into_inner());
            let modified = modify(&mut slot.value);
            if modified {
                slot.version += 1;
            }
            modified
        };
        if modified {
            self.shared.changed.notify_waiters();
        }
        modified
    }

    fn borrow_watched(&self) -> SimRef<'_, T> {
        SimRef(self.shared.read())
    }

    /// A receiver that has seen the current value.
    fn subscribe(&self) -> SimWatchReceiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        SimWatchReceiver {
            shared: self.shared.clone(),
            seen: self.shared.read().version,
        }
    }
}

impl<T> Clone for SimWatchReceiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        SimWatchReceiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for SimWatchReceiver<T> {
    fn drop(&mut self) {
        self.shared.receivers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<T> WatchReceiver<SimWatch, T> for SimWatchReceiver<T>
where
    T: OptionalSend + OptionalSync,
{
    /// As Tokio's: a value not seen yet first, then an error once closed.
    async fn changed(&mut self) -> Result<(), RecvError> {
        loop {
            let mut notified = pin!(self.shared.changed.notified());
            // Registered before looking, so a send after the look wakes it.
            notified.as_mut().enable();
            let version = self.shared.read().version;
            if version != self.seen {
                self.seen = version;
                return Ok(());
            }
            if self.shared.closed.load(Ordering::SeqCst) {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    fn borrow_watched(&self) -> SimRef<'_, T> {
        SimRef(self.shared.read())
    }

    fn borrow_and_update(&mut self) -> SimRef<'_, T> {
        let slot = self.shared.read();
        self.seen = slot.version;
        SimRef(slot)
    }
}

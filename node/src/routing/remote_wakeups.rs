//! [`RemoteWakeups`]: this node's waiters woken by the other owners of their
//! topic's partitions, through watches (`watch`) instead of looking again on
//! a timer.
//!
//! While at least one waiter on this node waits for a topic, one task per
//! other owner of its partitions keeps one watch in flight on that owner, and
//! relays each answer that moved the owner's generation to the local waiters
//! (`TopicWaker::relay`). So the calls a topic costs while nothing happens
//! are one watch per owner per [`WATCH_WAIT`], however many waiters wait.
//!
//! - The first answer of a new task is always relayed: a publish on the owner
//!   between a waiter's last look and the task's start is not missed.
//! - A failed watch (owner down, refused, timed out) is relayed too, so the
//!   waiters look again (and re-resolve the owner), then the task backs off
//!   (50 ms, doubling up to 1 s) before watching again.
//! - When the applied metadata moves one of the topic's partitions, the
//!   waiters are woken and tasks start for new owners; a task whose node owns
//!   none of the topic's partitions any more ends after its watch answers.
//! - A task ends after a watch answers with no waiter left.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use cluster::{Topic, TopicName};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::watch::{WATCH_WAIT, WatchRequest};
use super::{Placement, Route, StorageClient};
use crate::broker::wakers::{RemoteInterest, RemoteWatch, TopicWakers};
use crate::storage::PartitionRef;

/// The first pause after a failed watch; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Watches the other owners of the topics this node's waiters wait for.
#[derive(Debug)]
pub struct RemoteWakeups {
    me: Weak<Self>,
    placement: Arc<dyn Placement>,
    client: StorageClient,
    /// Weak: the wakers hold this watcher.
    wakers: Weak<TopicWakers>,
    topics: Mutex<HashMap<TopicName, Arc<Interest>>>,
    shutdown: CancellationToken,
}

/// The waiters of one topic and the owners watched for them.
#[derive(Debug)]
struct Interest {
    topic: Topic,
    waiters: AtomicUsize,
    /// Peer addresses with a running task; under this lock a task decides to
    /// end and a new waiter decides to start one.
    running: Mutex<BTreeSet<String>>,
    /// Each partition's route when last looked at.
    routes: Mutex<Vec<Route>>,
}

/// One waiter's interest; dropping it ends it.
struct Waiting(Arc<Interest>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RemoteWakeups {
    pub fn new(
        placement: Arc<dyn Placement>,
        client: StorageClient,
        wakers: &Arc<TopicWakers>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            placement,
            client,
            wakers: Arc::downgrade(wakers),
            topics: Mutex::default(),
            shutdown,
        })
    }

    /// Follows the applied metadata (`changes`: its applied index) until
    /// shutdown: when a watched topic's partitions move, wakes its waiters
    /// and watches the new owners; forgets topics no one waits for.
    pub async fn follow_metadata(self: Arc<Self>, mut changes: watch::Receiver<u64>) {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = self.shutdown.cancelled() => return,
            }
            let interests: Vec<Arc<Interest>> = {
                let mut topics = self.lock_topics();
                topics.retain(|_, i| {
                    i.waiters.load(Ordering::SeqCst) > 0 || !lock(&i.running).is_empty()
                });
                topics.values().cloned().collect()
            };
            for interest in interests {
                let routes = self.routes(&interest.topic);
                let moved = {
                    let mut known = lock(&interest.routes);
                    let moved = *known != routes;
                    *known = routes;
                    moved
                };
                if moved && interest.waiters.load(Ordering::SeqCst) > 0 {
                    self.start_tasks(&interest);
                    self.relay(&interest.topic.name);
                }
            }
        }
    }

    fn routes(&self, topic: &Topic) -> Vec<Route> {
        (0..topic.config.partitions)
            .map(|partition| {
                self.placement.route(&PartitionRef {
                    topic: topic.name.clone(),
                    partition,
                })
            })
            .collect()
    }

    /// The peer addresses of the topic's owners other than this node.
    fn peers(&self, topic: &Topic) -> BTreeSet<String> {
        self.routes(topic)
            .into_iter()
            .filter_map(|route| match route {
                Route::Remote { peer_addr, .. } => Some(peer_addr),
                Route::Local { .. } => None,
            })
            .collect()
    }

    /// Starts a task for each other owner of the topic not watched yet.
    fn start_tasks(&self, interest: &Arc<Interest>) {
        let Some(me) = self.me.upgrade() else { return };
        let peers = self.peers(&interest.topic);
        let mut running = lock(&interest.running);
        for peer in peers {
            if running.insert(peer.clone()) {
                tokio::spawn(me.clone().follow_owner(interest.clone(), peer));
            }
        }
    }

    /// Keeps one watch in flight on `peer` for the topic (see the module docs).
    async fn follow_owner(self: Arc<Self>, interest: Arc<Interest>, peer: String) {
        let topic = interest.topic.name.clone();
        let mut since = None;
        let mut backoff = MIN_BACKOFF;
        loop {
            {
                let mut running = lock(&interest.running);
                if self.shutdown.is_cancelled()
                    || interest.waiters.load(Ordering::SeqCst) == 0
                    || !self.peers(&interest.topic).contains(&peer)
                {
                    running.remove(&peer);
                    return;
                }
            }
            let request = WatchRequest {
                topic: topic.clone(),
                since,
                wait_millis: WATCH_WAIT.as_millis() as u64,
            };
            let answer = tokio::select! {
                answer = self.client.watch(&peer, &request) => answer,
                () = self.shutdown.cancelled() => continue,
            };
            match answer {
                Ok(generation) => {
                    if since != Some(generation) {
                        self.relay(&topic);
                    }
                    since = Some(generation);
                    backoff = MIN_BACKOFF;
                }
                Err(error) => {
                    tracing::debug!(%topic, %peer, %error, "watch failed; waiters look again");
                    self.relay(&topic);
                    since = None;
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = self.shutdown.cancelled() => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn relay(&self, topic: &TopicName) {
        if let Some(wakers) = self.wakers.upgrade() {
            wakers.waker(topic).relay();
        }
    }

    fn lock_topics(&self) -> MutexGuard<'_, HashMap<TopicName, Arc<Interest>>> {
        lock(&self.topics)
    }
}

impl RemoteWatch for RemoteWakeups {
    fn watch(&self, topic: &Topic) -> RemoteInterest {
        let interest = {
            let mut topics = self.lock_topics();
            // A topic deleted and created again under its name is another one:
            // the old interest's tasks end with its waiters.
            let current = topics.get(&topic.name).filter(|i| {
                i.topic.created_at_millis == topic.created_at_millis
                    && i.topic.config.partitions == topic.config.partitions
            });
            let interest = match current {
                Some(interest) => interest.clone(),
                None => {
                    let interest = Arc::new(Interest {
                        topic: topic.clone(),
                        waiters: AtomicUsize::new(0),
                        running: Mutex::default(),
                        routes: Mutex::new(self.routes(topic)),
                    });
                    topics.insert(topic.name.clone(), interest.clone());
                    interest
                }
            };
            interest.waiters.fetch_add(1, Ordering::SeqCst);
            interest
        };
        self.start_tasks(&interest);
        RemoteInterest::new(Waiting(interest))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

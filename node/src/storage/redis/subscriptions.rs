//! Subscription state on Redis ([`CursorStore`], under the shared
//! `SubscriptionState`): each call locks the partition's working copy, loads
//! the cursor if needed, reads the messages the call needs, runs the shared
//! cursor, and writes the changes through before returning, fenced by the
//! epoch this node owns the partition at (see the module docs); an
//! at-least-once lease leaves its changes for the next write
//! ([`lease_is_written`]). A failure once
//! the working copy may have changed drops it (see [`Call::settle`]), and so
//! does the next call after one dropped while its changes were being written
//! (`PartitionState::writing`). A lease
//! makes its read between two holds of the lock (see [`Partition::leases`]).

use std::sync::Arc;

use async_trait::async_trait;
use cluster::subscription::{DeliveryMode, StartPosition};
use cluster::{SubscriptionName, TopicName};
use futures::StreamExt;
use tokio::sync::MutexGuard;

use super::connection::{Access, Connection};
use super::fetch::{Needs, Plan, Read, fetch};
use super::field_encoding::corrupt;
use super::keys::PartitionKeys;
use super::message_cache::CachedLog;
use super::partition::{
    Partition, PartitionState, load_cursor, parse_bounds, write_held, write_through,
};
use super::{RedisStorage, not_found, scripts};
use crate::storage::cursor::{Cursor, LogView};
use crate::storage::cursor_store::{CursorStore, Reads};
use crate::storage::{
    Epoch, LeaseOutcome, LeaseRequest, PRIORITY_WINDOW, PartitionRef, SeekTarget, StorageError,
};

/// Most fetch-and-scan rounds one lease makes when the messages it read were
/// all held back (delayed, expired, blocked keys) and more may follow.
const MAX_LEASE_ROUNDS: usize = 8;

/// Partitions whose held leases a clean stop writes at once.
const HELD_WRITES_IN_FLIGHT: usize = 32;

/// One call on one subscription's locked partition.
struct Call<'a> {
    storage: &'a RedisStorage,
    at: PartitionRef,
    keys: PartitionKeys,
    /// The owner epoch this call writes as, read when it began: a claim
    /// made while it ran fences its write.
    epoch: Epoch,
    state: MutexGuard<'a, PartitionState>,
    subscription: &'a SubscriptionName,
}

impl RedisStorage {
    /// Locks the working copy of `partition` (`at`) for a call on `subscription`.
    async fn begin<'a>(
        &'a self,
        partition: &'a Partition,
        subscription: &'a SubscriptionName,
        at: &PartitionRef,
    ) -> Result<Call<'a>, StorageError> {
        let mut state = partition.state.lock().await;
        if state.deleted {
            return Err(not_found(at));
        }
        state.forget_unfinished_write();
        #[allow(unused_mut, reason = "changed only by a test-only break")]
        let mut epoch = self.owner_epochs.of(at);
        #[cfg(feature = "test-breaks")]
        if crate::test_breaks::active("serve-before-catch-up") {
            epoch = crate::test_breaks::unfenced_cursor_epoch();
        }
        Ok(Call {
            storage: self,
            at: at.clone(),
            keys: self.keys(at),
            epoch,
            state,
            subscription,
        })
    }
}

impl Call<'_> {
    /// Ends the call. On error the cursor's working copy is dropped: its changes
    /// may not be in Redis, which is the truth the next call reloads.
    fn settle<T>(mut self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if result.is_err() {
            self.state.cursors.remove(self.subscription);
        }
        result
    }

    /// Writes through what the cursor changed since its last write.
    async fn write(&mut self) -> Result<(), StorageError> {
        let PartitionState {
            cursors, writing, ..
        } = &mut *self.state;
        let cursor = cursors
            .get_mut(self.subscription)
            .ok_or_else(|| corrupt("cursor vanished"))?;
        *writing = Some(self.subscription.clone());
        let written = write_through(
            &self.storage.conn,
            &self.keys,
            &self.at,
            self.subscription,
            cursor,
            self.epoch,
        )
        .await;
        *writing = None;
        written
    }

    /// Loads the cursor, reads the messages `reads` names, runs `step` and
    /// writes through what it changed.
    async fn run<T>(
        &mut self,
        reads: Reads<'_>,
        step: impl FnOnce(&mut Cursor, &dyn LogView) -> T,
    ) -> Result<T, StorageError> {
        let conn = &self.storage.conn;
        let PartitionState {
            cursors, messages, ..
        } = &mut *self.state;
        let cursor = load_cursor(conn, &self.keys, cursors, self.subscription).await?;
        let offsets = match reads {
            Reads::Nothing => None,
            Reads::Leased(deliveries) => Some(
                deliveries
                    .iter()
                    .map(|d| d.offset)
                    .filter(|o| cursor.is_leased(*o))
                    .collect(),
            ),
            Reads::OldestUnacked => {
                let (start, end) = bounds(conn, &self.keys).await?;
                Some(cursor.oldest_unacked(start, end).into_iter().collect())
            }
            Reads::DeadLetters { max } => {
                let (start, _) = bounds(conn, &self.keys).await?;
                let mut offsets = cursor.dead_reads(start);
                offsets.truncate(max);
                Some(offsets)
            }
            Reads::Outbox { max } => {
                let (start, _) = bounds(conn, &self.keys).await?;
                let mut offsets = cursor.outbox_reads(start);
                offsets.truncate(max);
                Some(offsets)
            }
        };
        let (start, end) = match offsets {
            Some(offsets) => {
                let needs = Needs {
                    offsets,
                    scan: None,
                };
                let fetched = fetch(conn, &self.keys, messages, needs).await?;
                (fetched.start, fetched.end)
            }
            None => (0, u64::MAX),
        };
        let view = CachedLog {
            start,
            end,
            cache: messages,
        };
        let edits = cursor.edits();
        let value = step(cursor, &view);
        // A call that changed nothing (statistics, a stale ack) writes
        // nothing, not even the leases waiting for a write.
        if cursor.edits() != edits {
            self.write().await?;
        }
        Ok(value)
    }

    /// Plans what the lease's first round reads, so that it can be read with
    /// the lock released (see [`Partition::leases`]).
    async fn prepare_lease(
        &mut self,
        request: &LeaseRequest,
    ) -> Result<Option<Plan>, StorageError> {
        let conn = &self.storage.conn;
        let known_end = self.storage.known_ends.end_at(&self.at, self.epoch);
        let PartitionState {
            cursors, messages, ..
        } = &mut *self.state;
        let cursor = load_cursor(conn, &self.keys, cursors, self.subscription).await?;
        if nothing_new(known_end, cursor, request) {
            return Ok(None);
        }
        Ok(Some(Plan::new(messages, lease_needs(cursor, 0, request))))
    }

    async fn lease(
        &mut self,
        request: LeaseRequest,
        read: Read,
    ) -> Result<LeaseOutcome, StorageError> {
        let conn = &self.storage.conn;
        let mut read = Some(read);
        let PartitionState {
            cursors,
            messages,
            writing,
            ..
        } = &mut *self.state;
        let cursor = load_cursor(conn, &self.keys, cursors, self.subscription).await?;
        // A lease written through changes the cursor before a later round's
        // read: dropped there, it must not leave the change in memory alone
        // (an at-least-once lease may: it lives there anyway).
        if request.policy.mode != DeliveryMode::AtLeastOnce {
            *writing = Some(self.subscription.clone());
        }
        let mut outcome = LeaseOutcome::default();
        let mut start = 0;
        for _ in 0..MAX_LEASE_ROUNDS {
            // What was read before the lock serves if it still covers what the
            // cursor needs now; otherwise (or after the first round) read now.
            let prefetched = read.take().and_then(|early| {
                early.apply_for(&self.keys, messages, lease_needs(cursor, start, &request))
            });
            let fetched = match prefetched {
                Some(fetched) => fetched,
                None => {
                    let needs = lease_needs(cursor, start, &request);
                    fetch(conn, &self.keys, messages, needs).await?
                }
            };
            start = fetched.start;
            let view = CachedLog {
                start: fetched.start,
                end: fetched.horizon,
                cache: messages,
            };
            let round = cursor.lease(
                &view,
                LeaseRequest {
                    max_messages: request.max_messages - outcome.leased.len(),
                    ..request
                },
            );
            outcome.leased.extend(round.leased);
            outcome.expired += round.expired;
            outcome.dead_lettered.extend(round.dead_lettered);
            let more_to_scan = cursor.next() >= fetched.horizon
                && fetched.horizon < fetched.end
                && cursor.can_scan_further();
            if outcome.leased.len() >= request.max_messages || !more_to_scan {
                break;
            }
        }
        let keep_from = cursors
            .values()
            .map(|c| c.scalars().acked_below)
            .min()
            .unwrap_or(start)
            .max(start);
        messages.evict(keep_from);
        if lease_is_written(&request, &outcome) {
            self.write().await?;
        }
        self.state.writing = None;
        Ok(outcome)
    }
}

/// Whether a lease writes its changes through before it returns. An
/// at-least-once lease does not: it lives in the owner's memory, and the
/// cursor's next write (an ack, a nack, a deadline change, a seek) carries it
/// to Redis with its own changes. A crash before then loses only leases, and
/// their messages are delivered again at once. An at-most-once lease is its
/// ack; an exactly-once one must survive a restart at the same epoch, or an
/// ack id from before it could match the redelivery; and a lease that
/// dead-lettered messages writes its outbox before they are published.
fn lease_is_written(request: &LeaseRequest, outcome: &LeaseOutcome) -> bool {
    request.policy.mode != DeliveryMode::AtLeastOnce || !outcome.dead_lettered.is_empty()
}

/// Seen everything this owner's appends stored (`known_end`), nothing pending
/// or expired: nothing to lease, and Redis need not be asked (`known_ends`).
fn nothing_new(known_end: Option<u64>, cursor: &Cursor, request: &LeaseRequest) -> bool {
    known_end.is_some_and(|end| {
        cursor.next() >= end && cursor.lease_reads(0, request.now_millis).is_empty()
    })
}

/// What a lease round reads: the offsets it may redeliver from `start` on,
/// and new messages from the cursor's next, a priority window of them.
fn lease_needs(cursor: &Cursor, start: u64, request: &LeaseRequest) -> Needs {
    let window = PRIORITY_WINDOW.max(request.max_messages);
    Needs {
        offsets: cursor.lease_reads(start, request.now_millis),
        scan: (request.max_messages > 0).then(|| (cursor.next(), window)),
    }
}

/// The partition's `[start, end)`.
async fn bounds(conn: &Connection, keys: &PartitionKeys) -> Result<(u64, u64), StorageError> {
    let meta = keys.meta();
    let reply = conn
        .call(Access::Read, |mut c| async move {
            redis::cmd("HMGET")
                .arg(meta)
                .arg("start")
                .arg("end")
                .query_async(&mut c)
                .await
        })
        .await?;
    parse_bounds(reply, keys)
}

#[async_trait]
impl CursorStore for RedisStorage {
    async fn with_cursor<T: Send>(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        reads: Reads<'_>,
        step: impl for<'c, 'l> FnOnce(&'c mut Cursor, &'l dyn LogView) -> T + Send,
    ) -> Result<T, StorageError> {
        let partition = self.partition(at);
        let mut call = self.begin(&partition, subscription, at).await?;
        let result = call.run(reads, step).await;
        call.settle(result)
    }

    async fn lease_cursor(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError> {
        let partition = self.partition(at);
        let _leasing = partition.leases.lock().await;
        let plan = {
            let mut call = self.begin(&partition, subscription, at).await?;
            match call.prepare_lease(&request).await {
                Ok(Some(plan)) => plan,
                Ok(None) => return Ok(LeaseOutcome::default()),
                Err(error) => return call.settle(Err(error)),
            }
        };
        // The working copy's lock is free during this round trip.
        let read = plan.read(&self.conn, &self.keys(at)).await?;
        let mut call = self.begin(&partition, subscription, at).await?;
        let result = call.lease(request, read).await;
        call.settle(result)
    }

    async fn seek_offset(
        &self,
        at: &PartitionRef,
        target: SeekTarget,
    ) -> Result<u64, StorageError> {
        let keys = self.keys(at);
        match target {
            SeekTarget::Earliest => Ok(bounds(&self.conn, &keys).await?.0),
            SeekTarget::Latest => Ok(bounds(&self.conn, &keys).await?.1),
            SeekTarget::Time(millis) => {
                let mut invocation = scripts::SEEK.prepare_invoke();
                invocation.key(keys.meta()).key(keys.log()).arg(millis);
                let offset: i64 = self
                    .conn
                    .call(Access::Read, |mut c| async move {
                        invocation.invoke_async(&mut c).await
                    })
                    .await?;
                u64::try_from(offset).map_err(|_| not_found(at))
            }
        }
    }

    async fn create_cursors(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
        start: StartPosition,
    ) -> Result<(), StorageError> {
        let position = match start {
            StartPosition::Earliest => "earliest",
            StartPosition::Latest => "latest",
        };
        let creations = (0..partitions).map(|partition| async move {
            let at = PartitionRef {
                topic: topic.clone(),
                partition,
            };
            let keys = self.keys(&at);
            let mut invocation = scripts::CREATE_SUBSCRIPTION.prepare_invoke();
            invocation
                .key(keys.meta())
                .key(keys.subscriptions())
                .key(keys.subscription(subscription))
                .arg(subscription.as_str())
                .arg(position);
            let partition = self.partition(&at);
            let mut st = partition.state.lock().await;
            let created: i64 = self
                .conn
                .call(Access::Write, |mut c| async move {
                    invocation.invoke_async(&mut c).await
                })
                .await?;
            match created {
                -1 => Err(not_found(&at)),
                1 => {
                    st.cursors.remove(subscription);
                    Ok(())
                }
                _ => Ok(()),
            }
        });
        futures::future::try_join_all(creations).await?;
        Ok(())
    }

    async fn delete_cursors(
        &self,
        subscription: &SubscriptionName,
        topic: &TopicName,
        partitions: u32,
    ) -> Result<(), StorageError> {
        let deletions = (0..partitions).map(|partition| async move {
            let at = PartitionRef {
                topic: topic.clone(),
                partition,
            };
            let keys = self.keys(&at);
            let partition = self.partition(&at);
            let mut st = partition.state.lock().await;
            st.cursors.remove(subscription);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("DEL")
                .arg(keys.subscription(subscription))
                .ignore()
                .cmd("SREM")
                .arg(keys.subscriptions())
                .arg(subscription.as_str())
                .ignore();
            self.conn
                .call(Access::Write, |mut c| async move {
                    pipe.query_async::<()>(&mut c).await
                })
                .await
        });
        futures::future::try_join_all(deletions).await?;
        Ok(())
    }

    async fn write_held_cursors(&self) {
        let partitions: Vec<(PartitionRef, Arc<Partition>)> = self
            .lock_partitions()
            .iter()
            .map(|(at, partition)| (at.clone(), Arc::clone(partition)))
            .collect();
        // Partitions in parallel (up to HELD_WRITES_IN_FLIGHT round trips), so a node
        // with many partitions writes them all within the drain timeout.
        futures::stream::iter(partitions)
            .for_each_concurrent(HELD_WRITES_IN_FLIGHT, |(at, partition)| async move {
                let epoch = self.owner_epochs.of(&at);
                write_held(&self.conn, &self.keys(&at), &at, &partition, epoch).await;
            })
            .await;
    }

    async fn release_cursor(&self, subscription: &SubscriptionName, at: &PartitionRef) {
        let partition = self.lock_partitions().get(at).cloned();
        if let Some(partition) = partition {
            // A call in flight finishes first; the next one reloads from Redis.
            partition.state.lock().await.cursors.remove(subscription);
        }
    }

    async fn release_cursors(&self, at: &PartitionRef) {
        let partition = self.lock_partitions().get(at).cloned();
        if let Some(partition) = partition {
            // Calls in flight finish first; the next call reloads from Redis.
            // Cached messages go too (`MessageCache::clear`).
            let mut st = partition.state.lock().await;
            st.cursors.clear();
            st.messages.clear();
        }
        self.known_ends.forget(at);
    }
}

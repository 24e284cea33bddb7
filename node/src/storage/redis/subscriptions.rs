//! [`SubscriptionState`] on Redis: each call locks the partition's working
//! copy, loads the cursor if needed, reads the messages the call needs, runs
//! the shared cursor, and writes the changes through before returning. Any
//! failure drops the working copy (see [`Call::settle`]).

use async_trait::async_trait;
use cluster::subscription::StartPosition;
use cluster::{SubscriptionName, TopicName};
use tokio::sync::OwnedMutexGuard;

use super::connection::Access;
use super::keys::PartitionKeys;
use super::partition::{
    CachedLog, Needs, PartitionState, fetch, load_cursor, parse_bounds, write_through,
};
use super::{RedisStorage, not_found, scripts};
use crate::storage::{
    AckOutcome, Backlog, DeadLetter, DeliveryPolicy, DeliveryRef, LeaseOutcome, LeaseRequest, Nack,
    PRIORITY_WINDOW, PartitionRef, RedriveFilter, SeekTarget, StorageError, SubscriptionState,
};

/// Most fetch-and-scan rounds one lease makes when the messages it read were
/// all held back (delayed, expired, blocked keys) and more may follow.
const MAX_LEASE_ROUNDS: usize = 8;

/// One call on one subscription's locked partition.
struct Call<'a> {
    storage: &'a RedisStorage,
    keys: PartitionKeys,
    state: OwnedMutexGuard<PartitionState>,
    subscription: &'a SubscriptionName,
}

impl RedisStorage {
    /// Locks the partition's working copy for a call on `subscription`.
    async fn begin<'a>(
        &'a self,
        subscription: &'a SubscriptionName,
        at: &PartitionRef,
    ) -> Result<Call<'a>, StorageError> {
        let state = self.partition(at).lock_owned().await;
        if state.deleted {
            return Err(not_found(at));
        }
        Ok(Call {
            storage: self,
            keys: self.keys(at),
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

    /// Loads the cursor, then writes through what `f` changed in it.
    async fn run<T>(
        &mut self,
        needs: impl FnOnce(&crate::storage::cursor::Cursor) -> Option<Needs>,
        f: impl FnOnce(&mut crate::storage::cursor::Cursor, &CachedLog<'_>) -> T,
    ) -> Result<T, StorageError> {
        let conn = &self.storage.conn;
        let PartitionState {
            cursors, messages, ..
        } = &mut *self.state;
        let cursor = load_cursor(conn, &self.keys, cursors, self.subscription).await?;
        let (start, end) = match needs(cursor) {
            Some(needs) => {
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
        let value = f(cursor, &view);
        write_through(conn, &self.keys, self.subscription, cursor).await?;
        Ok(value)
    }

    async fn lease(&mut self, request: LeaseRequest) -> Result<LeaseOutcome, StorageError> {
        let conn = &self.storage.conn;
        let PartitionState {
            cursors, messages, ..
        } = &mut *self.state;
        let cursor = load_cursor(conn, &self.keys, cursors, self.subscription).await?;
        let window = PRIORITY_WINDOW.max(request.max_messages);
        let mut outcome = LeaseOutcome::default();
        let mut start = 0;
        for _ in 0..MAX_LEASE_ROUNDS {
            let needs = Needs {
                offsets: cursor.lease_reads(start, request.now_millis),
                scan: (request.max_messages > 0).then(|| (cursor.next(), window)),
            };
            let fetched = fetch(conn, &self.keys, messages, needs).await?;
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
        write_through(conn, &self.keys, self.subscription, cursor).await?;
        let keep_from = cursors
            .values()
            .map(|c| c.scalars().acked_below)
            .min()
            .unwrap_or(start)
            .max(start);
        messages.evict(keep_from);
        Ok(outcome)
    }

    /// The partition's `[start, end)`.
    async fn bounds(&mut self) -> Result<(u64, u64), StorageError> {
        let meta = self.keys.meta();
        let reply = self
            .storage
            .conn
            .call(Access::Read, |mut c| async move {
                redis::cmd("HMGET")
                    .arg(meta)
                    .arg("start")
                    .arg("end")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        parse_bounds(reply, &self.keys)
    }
}

#[async_trait]
impl SubscriptionState for RedisStorage {
    async fn create_subscription(
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
            let state = self.partition(&at);
            let mut st = state.lock().await;
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

    async fn delete_subscription(
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
            let state = self.partition(&at);
            let mut st = state.lock().await;
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

    async fn lease(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        request: LeaseRequest,
    ) -> Result<LeaseOutcome, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = call.lease(request).await;
        call.settle(result)
    }

    async fn ack(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        deliveries: &[DeliveryRef],
        now_millis: u64,
        exact: bool,
    ) -> Result<AckOutcome, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = call
            .run(
                |_| None,
                |cursor, _| cursor.ack(deliveries, now_millis, exact),
            )
            .await;
        call.settle(result)
    }

    async fn extend(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        deliveries: &[DeliveryRef],
        deadline_millis: u64,
        now_millis: u64,
    ) -> Result<(), StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = call
            .run(
                |_| None,
                |cursor, _| cursor.extend(deliveries, deadline_millis, now_millis),
            )
            .await;
        call.settle(result)
    }

    async fn nack(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        deliveries: &[DeliveryRef],
        nack: &Nack,
        now_millis: u64,
        policy: DeliveryPolicy,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        // Messages are read only when a nack may dead-letter them.
        let needs = |cursor: &crate::storage::cursor::Cursor| {
            policy.max_attempts.map(|_| Needs {
                offsets: deliveries
                    .iter()
                    .map(|d| d.offset)
                    .filter(|o| cursor.is_leased(*o))
                    .collect(),
                scan: None,
            })
        };
        let mut call = self.begin(subscription, at).await?;
        let result = call
            .run(needs, |cursor, log| {
                cursor.nack(log, deliveries, nack, now_millis, policy)
            })
            .await;
        call.settle(result)
    }

    async fn backlog(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        now_millis: u64,
    ) -> Result<Backlog, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = async {
            let (start, end) = call.bounds().await?;
            call.run(
                |cursor| {
                    Some(Needs {
                        offsets: cursor.oldest_unacked(start, end).into_iter().collect(),
                        scan: None,
                    })
                },
                |cursor, log| cursor.backlog(log, now_millis),
            )
            .await
        }
        .await;
        call.settle(result)
    }

    async fn next_wakeup(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        now_millis: u64,
    ) -> Result<Option<u64>, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = call
            .run(|_| None, |cursor, _| cursor.next_wakeup(now_millis))
            .await;
        call.settle(result)
    }

    async fn dead_letters(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = async {
            let (start, _) = call.bounds().await?;
            call.run(
                |cursor| {
                    let mut offsets = cursor.dead_reads(start);
                    offsets.truncate(max);
                    Some(Needs {
                        offsets,
                        scan: None,
                    })
                },
                |cursor, log| cursor.dead_letters(log, max),
            )
            .await
        }
        .await;
        call.settle(result)
    }

    async fn redrive(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        filter: RedriveFilter,
        max: usize,
        now_millis: u64,
        spacing_millis: u64,
    ) -> Result<u64, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = async {
            let (start, _) = call.bounds().await?;
            call.run(
                |cursor| {
                    Some(Needs {
                        offsets: cursor.dead_reads(start),
                        scan: None,
                    })
                },
                |cursor, log| cursor.redrive(log, filter, max, now_millis, spacing_millis),
            )
            .await
        }
        .await;
        call.settle(result)
    }

    async fn parked_keys(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
    ) -> Result<Vec<String>, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = async { call.run(|_| None, |cursor, _| cursor.parked_keys()).await }.await;
        call.settle(result)
    }

    async fn resume_key(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        key: &str,
    ) -> Result<bool, StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = async { call.run(|_| None, |cursor, _| cursor.resume_key(key)).await }.await;
        call.settle(result)
    }

    async fn seek(
        &self,
        subscription: &SubscriptionName,
        at: &PartitionRef,
        target: SeekTarget,
    ) -> Result<(), StorageError> {
        let mut call = self.begin(subscription, at).await?;
        let result = async {
            let offset = match target {
                SeekTarget::Earliest => call.bounds().await?.0,
                SeekTarget::Latest => call.bounds().await?.1,
                SeekTarget::Time(millis) => {
                    let mut invocation = scripts::SEEK.prepare_invoke();
                    invocation
                        .key(call.keys.meta())
                        .key(call.keys.log())
                        .arg(millis);
                    let offset: i64 = call
                        .storage
                        .conn
                        .call(Access::Read, |mut c| async move {
                            invocation.invoke_async(&mut c).await
                        })
                        .await?;
                    u64::try_from(offset).map_err(|_| not_found(at))?
                }
            };
            call.run(|_| None, |cursor, _| cursor.seek(offset)).await
        }
        .await;
        call.settle(result)
    }

    async fn release_partition(&self, at: &PartitionRef) {
        let state = self.lock_partitions().get(at).cloned();
        if let Some(state) = state {
            // Calls in flight finish first; the next call reloads from Redis.
            // Cached messages go too: while another node owned the partition, a
            // failover may have lost the log's tail and its offsets been reused.
            let mut st = state.lock().await;
            st.cursors.clear();
            st.messages = Default::default();
        }
    }
}

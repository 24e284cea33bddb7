//! The owner's working copy of one partition: the cursors loaded from Redis,
//! a cache of messages read from the stream (filled by `fetch`), and how a
//! cursor is loaded from Redis and [`write_through`] (persist what a call
//! changed, one atomic round trip).

use std::collections::HashMap;

use cluster::SubscriptionName;
use redis::Value;

use super::connection::{Access, Connection};
use super::cursor_fields::{
    decode_cursor, encode_state, offset_field, parked_field, scalar_fields,
};
use super::field_encoding::corrupt;
use super::keys::PartitionKeys;
use super::message_cache::MessageCache;
use super::scripts;
use crate::storage::cursor::Cursor;
use crate::storage::{Epoch, PartitionRef, StorageError};

/// One partition on its owner: its working copy, and the lock a lease takes
/// before the working copy's.
#[derive(Debug, Default)]
pub(crate) struct Partition {
    pub(crate) state: tokio::sync::Mutex<PartitionState>,
    /// Held by a lease for its whole call: leases of one partition read from
    /// Redis one at a time (no two read the same messages), while the working
    /// copy's lock is free during those reads for acks and the other calls.
    pub(crate) leases: tokio::sync::Mutex<()>,
}

/// One partition's state on its owner, behind the partition's lock.
#[derive(Debug, Default)]
pub(crate) struct PartitionState {
    pub(crate) cursors: HashMap<SubscriptionName, Cursor>,
    pub(crate) messages: MessageCache,
    /// Set when the topic was deleted: calls holding this state must stop.
    pub(crate) deleted: bool,
    /// The subscription whose cursor write is under way (or whose lease that
    /// must be written through is: at-most-once, exactly-once). A call dropped
    /// meanwhile (its caller gone) leaves it set: that cursor's working copy
    /// may then be ahead of Redis, so the next call drops it
    /// ([`PartitionState::forget_unfinished_write`]).
    pub(crate) writing: Option<SubscriptionName>,
}

impl PartitionState {
    /// Drops the working copy of a cursor whose write never finished, so the
    /// next call reloads it from Redis, the truth whether or not the write
    /// landed.
    pub(crate) fn forget_unfinished_write(&mut self) {
        if let Some(subscription) = self.writing.take() {
            self.cursors.remove(&subscription);
        }
    }
}

/// `start` and `end` from `HMGET meta start end`; `NotFound` if absent.
pub(crate) fn parse_bounds(meta: Value, keys: &PartitionKeys) -> Result<(u64, u64), StorageError> {
    let fields: Vec<Option<u64>> =
        redis::from_redis_value(meta).map_err(|e| corrupt(e.to_string()))?;
    match fields.as_slice() {
        [Some(start), Some(end)] => Ok((*start, *end)),
        _ => Err(StorageError::NotFound {
            what: format!("partition {}", keys.meta()),
        }),
    }
}

/// Loads a subscription's cursor from Redis if it is not in memory yet.
pub(crate) async fn load_cursor<'a>(
    conn: &Connection,
    keys: &PartitionKeys,
    cursors: &'a mut HashMap<SubscriptionName, Cursor>,
    subscription: &SubscriptionName,
) -> Result<&'a mut Cursor, StorageError> {
    if !cursors.contains_key(subscription) {
        let key = keys.subscription(subscription);
        let hash: HashMap<String, String> = conn
            .call(Access::Read, |mut c| async move {
                redis::cmd("HGETALL").arg(key).query_async(&mut c).await
            })
            .await?;
        let cursor = decode_cursor(hash)?.ok_or_else(|| StorageError::NotFound {
            what: format!("subscription {subscription}"),
        })?;
        cursors.insert(subscription.clone(), cursor);
    }
    cursors
        .get_mut(subscription)
        .ok_or_else(|| corrupt("cursor vanished"))
}

/// Persists what the last call changed in `cursor`, atomically, as the owner
/// at `epoch`: [`StorageError::Fenced`], writing nothing, if the partition has
/// seen a newer epoch; `NotFound`, writing nothing, if the subscription's
/// cursor is gone from Redis (deleted meanwhile). On failure the caller must
/// drop its working copy: Redis is then the truth, whether or not this write
/// landed.
pub(crate) async fn write_through(
    conn: &Connection,
    keys: &PartitionKeys,
    at: &PartitionRef,
    subscription: &SubscriptionName,
    cursor: &mut Cursor,
    epoch: Epoch,
) -> Result<(), StorageError> {
    let Some(changes) = cursor.take_changes() else {
        return Ok(());
    };
    let mut set: Vec<String> = Vec::new();
    let mut delete: Vec<String> = Vec::new();
    for offset in &changes.offsets {
        match cursor.state_of(*offset) {
            Some(state) => set.extend([offset_field(*offset), encode_state(&state)]),
            None => delete.push(offset_field(*offset)),
        }
    }
    for key in &changes.parked {
        if cursor.is_parked(key) {
            set.extend([parked_field(key), "1".to_owned()]);
        } else {
            delete.push(parked_field(key));
        }
    }
    if changes.scalars || changes.reset {
        for (field, value) in scalar_fields(cursor.scalars()) {
            set.extend([field.to_owned(), value]);
        }
    }
    let mut invocation = scripts::CURSOR_WRITE.prepare_invoke();
    invocation
        .key(keys.epoch())
        .key(keys.subscription(subscription))
        .arg(epoch.get())
        .arg(if changes.reset { "1" } else { "0" })
        .arg(delete.len())
        .arg(delete)
        .arg(set);
    let reply: Vec<u64> = conn
        .call(Access::Write, |mut c| async move {
            invocation.invoke_async(&mut c).await
        })
        .await?;
    match reply.as_slice() {
        [1] => Ok(()),
        [0, current] => Err(StorageError::Fenced {
            topic: at.topic.to_string(),
            partition: at.partition,
            attempted: epoch,
            current: Epoch::new(*current),
        }),
        [2] => Err(StorageError::NotFound {
            what: format!("subscription {subscription}"),
        }),
        other => Err(corrupt(format!("cursor write replied {other:?}"))),
    }
}

/// Writes the cursors of `partition` holding changes not yet in Redis (the
/// at-least-once leases its owner keeps in memory), as the owner at `epoch`.
/// A cursor whose write fails is dropped, so its leases are delivered again,
/// as after a crash.
pub(crate) async fn write_held(
    conn: &Connection,
    keys: &PartitionKeys,
    at: &PartitionRef,
    partition: &Partition,
    epoch: Epoch,
) {
    let mut state = partition.state.lock().await;
    if state.deleted {
        return;
    }
    let mut failed = Vec::new();
    for (subscription, cursor) in &mut state.cursors {
        if let Err(error) = write_through(conn, keys, at, subscription, cursor, epoch).await {
            tracing::warn!(
                %subscription,
                topic = %at.topic,
                partition = at.partition,
                %error,
                "held leases not written; they will be delivered again"
            );
            failed.push(subscription.clone());
        }
    }
    for subscription in failed {
        state.cursors.remove(&subscription);
    }
}

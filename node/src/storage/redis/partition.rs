//! The owner's working copy of one partition: the cursors loaded from Redis,
//! a cache of messages read from the stream, and the two ways they meet Redis:
//! [`fetch`] (read what a cursor call needs, one pipelined round trip) and
//! [`write_through`] (persist what a call changed, one atomic round trip).

use std::collections::HashMap;

use cluster::SubscriptionName;
use redis::aio::ConnectionLike;
use redis::{RedisError, Value};

use super::connection::{Access, Connection};
use super::cursor_fields::{
    decode_cursor, encode_state, offset_field, parked_field, scalar_fields,
};
use super::field_encoding::{corrupt, decode_range};
use super::keys::{PartitionKeys, entry_id};
use super::message_cache::MessageCache;
use super::scripts;
use crate::storage::cursor::Cursor;
use crate::storage::{Epoch, PartitionRef, StorageError};

/// Offsets this close together are fetched by one range read.
const RUN_GAP: u64 = 32;

/// One partition's state on its owner, behind the partition's lock.
#[derive(Debug, Default)]
pub(crate) struct PartitionState {
    pub(crate) cursors: HashMap<SubscriptionName, Cursor>,
    pub(crate) messages: MessageCache,
    /// Set when the topic was deleted: calls holding this state must stop.
    pub(crate) deleted: bool,
}

/// What a cursor call will read.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    /// Specific offsets (pending, expiring, dead…).
    pub(crate) offsets: Vec<u64>,
    /// New messages from this offset on, up to this many.
    pub(crate) scan: Option<(u64, usize)>,
}

/// The partition's bounds as read with the messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fetched {
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// How far the messages known (cached, or read and found missing) reach
    /// from the scan start: the view's end for a lease.
    pub(crate) horizon: u64,
}

/// Reads the partition's bounds and every needed message not yet cached, in
/// one pipelined round trip, into `cache`. `NotFound` if the partition is gone.
pub(crate) async fn fetch(
    conn: &Connection,
    keys: &PartitionKeys,
    cache: &mut MessageCache,
    needs: Needs,
) -> Result<Fetched, StorageError> {
    let mut pipe = redis::pipe();
    pipe.cmd("HMGET").arg(keys.meta()).arg("start").arg("end");
    let log = keys.log();
    let mut missing: Vec<u64> = needs
        .offsets
        .into_iter()
        .filter(|o| !cache.contains(*o))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let ranges = runs(&missing);
    for &(first, last) in &ranges {
        pipe.cmd("XRANGE")
            .arg(&log)
            .arg(entry_id(first))
            .arg(entry_id(last));
    }
    // New messages are read from the first one not cached; everything in
    // `[from, unread)` is cached already.
    let scan = needs.scan.map(|(from, count)| {
        let unread = cache.first_missing(from);
        let budget = count.saturating_sub(usize::try_from(unread - from).unwrap_or(usize::MAX));
        (unread, budget)
    });
    if let Some((unread, budget)) = scan
        && budget > 0
    {
        pipe.cmd("XRANGE")
            .arg(&log)
            .arg(entry_id(unread))
            .arg("+")
            .arg("COUNT")
            .arg(budget);
    }
    let replies = conn
        .call(Access::Read, |mut c| async move {
            replies_of(&mut c, &pipe).await
        })
        .await?;
    let mut replies = replies.into_iter();
    let (start, end) = match replies.next() {
        Some(meta) => parse_bounds(meta, keys)?,
        None => return Err(corrupt("empty pipeline reply")),
    };
    let mut scanned = None;
    for (index, reply) in replies.enumerate() {
        let messages = decode_range(reply)?;
        let read = messages.len();
        let mut last = None;
        for message in messages {
            last = Some(message.offset);
            cache.insert(message);
        }
        if index == ranges.len() {
            scanned = Some((read, last));
        }
    }
    // How far the view may reach: every offset below the horizon is cached or
    // known not to exist (trimmed, or lost by Redis).
    let horizon = match (scan, scanned) {
        (None, _) => end,
        (Some((unread, 0)), _) => unread.min(end),
        (Some((_, budget)), Some((read, Some(last)))) if read >= budget => last + 1,
        (Some(_), _) => end,
    };
    if cache.observe_end(end) {
        tracing::warn!(
            partition = %keys.meta(),
            end,
            "the partition's end went backwards (Redis lost writes); cached messages dropped"
        );
    }
    Ok(Fetched {
        start,
        end,
        horizon,
    })
}

/// A pipeline's replies, one per command, as `Pipeline::query_async` answers
/// them but without its walk through every nested reply looking for errors,
/// which rebuilds every array of every `XRANGE` reply: a twentieth of the
/// broker's instructions per message read. Only a command's own reply can be
/// an error here (`HMGET` and `XRANGE` hold none inside), and the first one
/// fails the call.
async fn replies_of(
    c: &mut impl ConnectionLike,
    pipe: &redis::Pipeline,
) -> Result<Vec<Value>, RedisError> {
    let replies = c.req_packed_commands(pipe, 0, pipe.len()).await?;
    match replies.iter().find(|r| matches!(r, Value::ServerError(_))) {
        Some(Value::ServerError(error)) => Err(error.clone().into()),
        _ => Ok(replies),
    }
}

/// Groups sorted offsets into `(first, last)` ranges, joining gaps below [`RUN_GAP`].
fn runs(sorted: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &offset in sorted {
        match runs.last_mut() {
            Some((_, last)) if offset <= *last + RUN_GAP => *last = offset,
            _ => runs.push((offset, offset)),
        }
    }
    runs
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
/// seen a newer epoch. On failure the caller must drop its working copy:
/// Redis is then the truth, whether or not this write landed.
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
        other => Err(corrupt(format!("cursor write replied {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn close_offsets_share_a_range_read() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[3, 4, 10, 100, 101]), vec![(3, 10), (100, 101)]);
    }
}

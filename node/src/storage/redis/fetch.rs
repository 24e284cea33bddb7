//! Reading what a cursor call needs from a partition's stream into the
//! owner's message cache: the partition's bounds and every needed message not
//! cached yet, in one pipelined round trip.
//!
//! [`fetch`] does it in one go, under the partition's lock. A lease may split
//! it ([`Plan`] under the lock, [`Plan::read`] without it, [`Read::apply_for`]
//! under it again) so that the round trip does not hold the lock that acks
//! and other calls wait for; [`Read::apply_for`] takes the read in only if
//! nothing else changed the cache meanwhile and it covers what the cursor
//! needs by then.

use std::sync::Arc;
use std::time::Instant;

use redis::aio::ConnectionLike;
use redis::{RedisError, Value};
use tracing::Instrument;

use super::connection::{Access, Connection, round_trip_span, storage_error};
use super::field_encoding::{EntryFields, corrupt, decode_message, decode_range};
use super::keys::{PartitionKeys, entry_id};
use super::message_cache::MessageCache;
use super::partition::parse_bounds;
use super::range_reader::{RangeReader, Slot, encode};
use super::resp::Reply;
use crate::storage::{StorageError, StoredMessage};

/// Offsets this close together are fetched by one range read.
const RUN_GAP: u64 = 32;

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

/// The reads that `Needs` takes beyond what is cached.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Ranges of needed offsets not cached, `(first, last)`.
    ranges: Vec<(u64, u64)>,
    /// `(first offset not cached, how many to read from there)` of the scan.
    scan: Option<(u64, usize)>,
    /// The cache's version when planned.
    version: u64,
}

/// What one planned round trip read.
#[derive(Debug)]
pub(crate) struct Read {
    plan: Plan,
    start: u64,
    end: u64,
    /// The messages of each range read, in the order planned; the scan's last.
    replies: Vec<Vec<Arc<StoredMessage>>>,
}

impl Plan {
    pub(crate) fn new(cache: &MessageCache, needs: Needs) -> Self {
        let mut missing: Vec<u64> = needs
            .offsets
            .into_iter()
            .filter(|o| !cache.contains(*o))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        // New messages are read from the first one not cached; everything in
        // `[from, unread)` is cached already.
        let scan = needs.scan.map(|(from, count)| {
            let unread = cache.first_missing(from);
            let budget = count.saturating_sub(usize::try_from(unread - from).unwrap_or(usize::MAX));
            (unread, budget)
        });
        Self {
            ranges: runs(&missing),
            scan,
            version: cache.version(),
        }
    }

    /// Reads the partition's bounds and the planned messages, in one pipelined
    /// round trip: on one of the range reader's connections where there are
    /// some and one is free (`range_reader`), else through the redis crate.
    pub(crate) async fn read(
        self,
        conn: &Connection,
        keys: &PartitionKeys,
    ) -> Result<Read, StorageError> {
        let (meta, replies) = match conn.range_reader().and_then(RangeReader::slot) {
            Some(slot) => self.read_directly(conn, slot, keys).await?,
            None => self.read_values(conn, keys).await?,
        };
        let (start, end) = parse_bounds(meta, keys)?;
        Ok(Read {
            plan: self,
            start,
            end,
            replies,
        })
    }

    /// The `XRANGE`s of the plan: `(first id, last id, COUNT)`.
    fn xranges(&self) -> Vec<(String, String, Option<usize>)> {
        let mut reads: Vec<_> = self
            .ranges
            .iter()
            .map(|&(first, last)| (entry_id(first), entry_id(last), None))
            .collect();
        if let Some((unread, budget)) = self.scan
            && budget > 0
        {
            reads.push((entry_id(unread), "+".to_owned(), Some(budget)));
        }
        reads
    }

    async fn read_values(
        &self,
        conn: &Connection,
        keys: &PartitionKeys,
    ) -> Result<(Value, Vec<Vec<Arc<StoredMessage>>>), StorageError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET").arg(keys.meta()).arg("start").arg("end");
        let log = keys.log();
        for (first, last, count) in self.xranges() {
            let xrange = pipe.cmd("XRANGE").arg(&log).arg(first).arg(last);
            if let Some(count) = count {
                xrange.arg("COUNT").arg(count);
            }
        }
        let replies = conn
            .call(Access::Read, |mut c| async move {
                replies_of(&mut c, &pipe).await
            })
            .await?;
        let mut replies = replies.into_iter();
        let meta = replies
            .next()
            .ok_or_else(|| corrupt("empty pipeline reply"))?;
        let messages = replies.map(decode_range).collect::<Result<_, _>>()?;
        Ok((meta, messages))
    }

    async fn read_directly(
        &self,
        conn: &Connection,
        slot: Slot<'_>,
        keys: &PartitionKeys,
    ) -> Result<(Value, Vec<Vec<Arc<StoredMessage>>>), StorageError> {
        let (meta, log) = (keys.meta(), keys.log());
        let mut request = Vec::with_capacity(256);
        encode(&mut request, &[b"HMGET", meta.as_bytes(), b"start", b"end"]);
        let xranges = self.xranges();
        for (first, last, count) in &xranges {
            let count = count.map(|c| c.to_string());
            let mut args: Vec<&[u8]> =
                vec![b"XRANGE", log.as_bytes(), first.as_bytes(), last.as_bytes()];
            if let Some(count) = &count {
                args.extend([b"COUNT".as_slice(), count.as_bytes()]);
            }
            encode(&mut request, &args);
        }
        let started = Instant::now();
        let sent = slot
            .send(&request, 1 + xranges.len())
            .instrument(round_trip_span("PIPELINE"))
            .await;
        conn.observer
            .round_trip("PIPELINE", started.elapsed(), &sent);
        let read_error = |e: RedisError| storage_error(&e, Access::Read);
        let replies = sent.map_err(read_error)?;
        let mut walk = replies.walk();
        let mut bounds = Vec::with_capacity(2);
        for _ in 0..walk.array().map_err(read_error)? {
            bounds.push(match walk.string().map_err(read_error)? {
                Some(bytes) => Value::BulkString(bytes.to_vec()),
                None => Value::Nil,
            });
        }
        let messages = xranges
            .iter()
            .map(|_| decode_entries(&mut walk))
            .collect::<Result<_, _>>()?;
        Ok((Value::Array(bounds), messages))
    }
}

/// The messages of the `XRANGE` reply `walk` is at, each field kept copied
/// once from the reply's bytes (`[[id, [field, value, …]], …]`).
fn decode_entries(walk: &mut Reply<'_>) -> Result<Vec<Arc<StoredMessage>>, StorageError> {
    let read_error = |e: RedisError| storage_error(&e, Access::Read);
    let count = walk.array().map_err(read_error)?;
    let mut messages = Vec::with_capacity(count);
    for _ in 0..count {
        if walk.array().map_err(read_error)? != 2 {
            return Err(corrupt("a stream entry is not [id, fields]"));
        }
        let id = std::str::from_utf8(walk.bytes().map_err(read_error)?)
            .map_err(|_| corrupt("stream id is not UTF-8"))?;
        let mut fields = EntryFields::default();
        let values = walk.array().map_err(read_error)?;
        if values % 2 != 0 {
            return Err(corrupt(format!(
                "entry {id} has an odd number of field values"
            )));
        }
        for _ in 0..values / 2 {
            let name = walk.bytes().map_err(read_error)?;
            let value = walk.bytes().map_err(read_error)?;
            if let Some(slot) = fields.slot(name) {
                *slot = Some(value.to_vec());
            }
        }
        messages.push(decode_message(id, fields)?);
    }
    Ok(messages)
}

impl Read {
    /// Puts what was read into `cache`, and answers the bounds and horizon
    /// for `needs` as they are now. `None`, putting nothing in the cache, when
    /// the cache changed since the read was planned: another read was taken
    /// in (it may have seen a newer log, even one that lost its tail and
    /// reused offsets since), or messages were evicted (retention may have
    /// trimmed them) or all dropped. `None` too when the read no longer covers
    /// `needs` (the cursor moved). Then the caller must [`fetch`].
    pub(crate) fn apply_for(
        self,
        keys: &PartitionKeys,
        cache: &mut MessageCache,
        needs: Needs,
    ) -> Option<Fetched> {
        if self.plan.version != cache.version() {
            return None;
        }
        let (start, end) = (self.start, self.end);
        self.apply(keys, cache);
        let now = Plan::new(cache, needs);
        if !now.ranges.is_empty() {
            return None;
        }
        let horizon = match now.scan {
            None => end,
            Some((unread, _)) if unread >= end => end,
            Some((unread, 0)) => unread,
            Some(_) => return None,
        };
        Some(Fetched {
            start,
            end,
            horizon,
        })
    }

    /// Puts what was read into `cache`; answers the bounds and how far the
    /// planned scan reaches.
    fn apply(self, keys: &PartitionKeys, cache: &mut MessageCache) -> Fetched {
        let Read {
            plan,
            start,
            end,
            replies,
        } = self;
        let mut scanned = None;
        for (index, messages) in replies.into_iter().enumerate() {
            let read = messages.len();
            let mut last = None;
            for message in messages {
                last = Some(message.offset);
                cache.insert(message);
            }
            if index == plan.ranges.len() {
                scanned = Some((read, last));
            }
        }
        // How far the view may reach: every offset below the horizon is cached or
        // known not to exist (trimmed, or lost by Redis).
        let horizon = match (plan.scan, scanned) {
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
        Fetched {
            start,
            end,
            horizon,
        }
    }
}

/// Reads the partition's bounds and every needed message not yet cached, in
/// one pipelined round trip, into `cache`. `NotFound` if the partition is gone.
pub(crate) async fn fetch(
    conn: &Connection,
    keys: &PartitionKeys,
    cache: &mut MessageCache,
    needs: Needs,
) -> Result<Fetched, StorageError> {
    let read = Plan::new(cache, needs).read(conn, keys).await?;
    Ok(read.apply(keys, cache))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::NewMessage;

    fn stored(offset: u64) -> Arc<StoredMessage> {
        Arc::new(StoredMessage {
            offset,
            message: NewMessage::of_priority(4),
        })
    }

    fn keys() -> PartitionKeys {
        PartitionKeys::new(
            "test",
            &crate::storage::PartitionRef {
                topic: cluster::TopicName::new("orders").expect("name"),
                partition: 0,
            },
        )
    }

    fn scan_from(next: u64) -> Needs {
        Needs {
            offsets: Vec::new(),
            scan: Some((next, 10)),
        }
    }

    /// What a read planned on `cache` for a scan from 0 found: offsets
    /// `0..found` of a log ending at `end`.
    fn read_on(cache: &MessageCache, found: u64, end: u64) -> Read {
        Read {
            plan: Plan::new(cache, scan_from(0)),
            start: 0,
            end,
            replies: vec![(0..found).map(stored).collect()],
        }
    }

    #[test]
    fn close_offsets_share_a_range_read() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[3, 4, 10, 100, 101]), vec![(3, 10), (100, 101)]);
    }

    #[test]
    fn a_read_made_before_the_lock_serves_when_it_still_covers_the_cursor() {
        let mut cache = MessageCache::default();
        let read = read_on(&cache, 5, 5);
        let fetched = read
            .apply_for(&keys(), &mut cache, scan_from(2))
            .expect("covers offsets 2 to the end");
        assert_eq!((fetched.start, fetched.end, fetched.horizon), (0, 5, 5));
        assert_eq!(cache.first_missing(0), 5, "what was read is cached");
    }

    #[test]
    fn a_read_that_no_longer_covers_the_cursor_is_cached_but_does_not_serve() {
        let mut cache = MessageCache::default();
        let read = read_on(&cache, 5, 20);
        assert!(
            read.apply_for(&keys(), &mut cache, scan_from(3)).is_none(),
            "offsets 5..13 exist and were not read"
        );
        assert_eq!(cache.first_missing(0), 5);
    }

    /// Something done to the cache between a read's plan and its use.
    type Change = fn(&mut MessageCache);

    #[test]
    fn a_read_planned_before_the_cache_changed_is_not_taken_in() {
        let changes: [(&str, Change); 4] = [
            ("the cache was cleared", |c| c.clear()),
            ("a later read saw more of the log", |c| {
                c.observe_end(8);
            }),
            (
                "a later read saw a log that lost its tail and reused offsets",
                |c| {
                    c.observe_end(3);
                },
            ),
            ("retention trimmed cached messages", |c| {
                c.insert(stored(0));
                c.insert(stored(1));
                c.evict(1);
            }),
        ];
        for (change, apply) in changes {
            let mut cache = MessageCache::default();
            let read = read_on(&cache, 5, 5);
            apply(&mut cache);
            let before = cache.first_missing(1);
            assert!(
                read.apply_for(&keys(), &mut cache, scan_from(1)).is_none(),
                "{change}"
            );
            assert_eq!(cache.first_missing(1), before, "{change}: nothing taken in");
        }
    }
}

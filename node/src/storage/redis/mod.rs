//! Redis storage, standalone or Redis Cluster (ack level `leader`).
//!
//! # Messages
//! One stream per partition, `<prefix>:{<topic>:<partition>}:log`, with explicit
//! entry ids `0-<offset+1>`, so offsets stay dense and map 1:1 to ids. An
//! append is one Lua script on the partition's slot: it checks the owner epoch
//! (`…:epoch`; an older epoch is refused with [`StorageError::Fenced`] and
//! nothing is stored, a newer one is recorded), XADDs the batch, advances the
//! end offset and byte counter in `…:meta`, and returns the first offset: a
//! batch costs one round trip. The script also remembers the last batch token,
//! so a call retried by the client library after a lost reply is not stored
//! twice. Reads are `XRANGE … COUNT`. Retention is a script too: it finds the
//! cut by binary search over offsets (publish time for age, the `b` field,
//! bytes appended before an entry, for size) and `XTRIM MINID`s there.
//!
//! An entry is in one of two formats: 1, a field per value, or 2, the
//! metadata and data packed in one field (`packed_entry`: one script argument
//! per message instead of nine). Every node reads both; which one it writes
//! is kept in Redis per key prefix (`<prefix>:format`, see `entry_format` and
//! docs/storage.md for the upgrade).
//!
//! # Subscriptions: the cursor is not re-implemented in Lua
//! The delivery state machine (leases, retries, dead letters, ordering keys,
//! priorities…) is the shared `Cursor`, the same code the memory backend runs
//! and the conformance suite checks. A partition has one owner node at a time
//! (fenced by epoch), so this backend keeps each (subscription, partition)
//! cursor in the owner's memory as the working copy, loads it from Redis on
//! first use (after a restart, say), and **writes every change through to
//! Redis before the call returns**: the cursor records what a call changed,
//! and one atomic script of `HSET`/`HDEL` on the cursor's hash
//! (`…:sub:<name>`, see `field_encoding` for the encoding) persists exactly that delta.
//! If that write fails, or its call is dropped before it finishes (a client
//! that hung up), the working copy is dropped and reloaded from Redis on the
//! next call (`PartitionState::forget_unfinished_write`). The one exception is
//! an at-least-once lease: it stays in memory and the next call that changes
//! the cursor writes it with its own changes (`subscriptions::lease_is_written`),
//! so memory runs ahead of Redis by leases only, which a crash turns into
//! redeliveries.
//!
//! Messages a cursor needs (pending, expiring, the next window) are read in one
//! pipelined round trip per call and cached per partition (bounded; see
//! `fetch` and `message_cache`), on a standalone server over plain TCP with
//! connections of their own whose replies are read straight from their bytes
//! (`range_reader`, `resp`). An at-least-once lease is thus one round trip,
//! its read (made without the partition's lock, and made again under it when
//! the cache changed meanwhile), and the other modes' add their write-through;
//! none when the owner's own appends tell it there is nothing new
//! (`known_ends`).
//!
//! # Layout and cluster safety
//! Every key of a partition shares the hash tag `{<topic>:<partition>}` (see
//! `keys`), so every script, pipeline and `MULTI` stays on one slot.
//! Topics and subscriptions are not registered in Redis (metadata lives in the
//! broker); a per-partition set `…:subs` names the subscriptions with state on
//! that partition so deleting a topic can delete them.
//!
//! # Errors and timeouts
//! See `connection`: every call has a connect, response and overall timeout;
//! a refused connection or a server refusal is `Unavailable` (nothing
//! happened), a timeout or lost connection during a write is `OutcomeUnknown`,
//! and so is every failed write on a Redis Cluster (its client sends a
//! command again after a lost reply, so a refusal may follow an attempt that
//! ran).
//!
//! # Ack levels and compression
//! Per topic: `leader` (the default), `replicated:N` and `fsynced`; see
//! `durability`. Payload compression (snappy, lz4) happens in `field_encoding`.
//!
//! # Fencing of cursor writes
//! Cursor writes are fenced by the owner epoch like appends: the write is a
//! script that refuses it ([`StorageError::Fenced`], nothing written) once
//! the partition's epoch is above the highest this node appended at (its
//! claim when it gained the partition, or any append since). A stale owner,
//! or its write delayed in the network past a partition's heal, cannot take a
//! cursor back under the new owner (a dead letter delivered again). A node
//! whose epoch rises (its claim) drops the cursors it loaded before, which
//! the previous owner may have changed since.

mod append;
mod compression;
mod connection;
mod cursor_fields;
mod durability;
mod entry_format;
mod fetch;
mod field_encoding;
mod keys;
mod known_ends;
mod member;
mod message_cache;
mod moved_transaction;
mod owner_epochs;
mod packed_entry;
mod partition;
mod probe;
mod range_reader;
mod resp;
mod scripts;
mod settings;
mod subscriptions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::{Retention, TopicName};
use redis::Value;

use self::connection::{Access, Connection};
use self::entry_format::FormatWatch;
pub use self::entry_format::{FORMAT_FIELDS, FORMAT_PACKED, FORMAT_POLL, format_key};
use self::field_encoding::corrupt;
use self::keys::{PartitionKeys, entry_id};
use self::known_ends::KnownEnds;
use self::owner_epochs::OwnerEpochs;
use self::partition::{Partition, parse_bounds};
use self::probe::Probe;
pub use self::settings::{RedisSettings, RedisTarget};
use super::{
    AppendOptions, Epoch, FencedLog, MessageLog, NewMessage, PartitionOffsets, PartitionRef,
    StorageError, StoredMessage,
};
use crate::telemetry::redis_metrics::RedisMetrics;

/// Messages and subscription state in Redis.
#[derive(Debug)]
pub struct RedisStorage {
    conn: Connection,
    prefix: String,
    /// The owner's working copy of each partition it served.
    partitions: Mutex<HashMap<PartitionRef, Arc<Partition>>>,
    /// The epoch this node writes each partition's cursors as.
    owner_epochs: OwnerEpochs,
    /// Each partition's end as this node's appends tell (leases of a
    /// subscription that has seen it all skip Redis).
    known_ends: KnownEnds,
    /// Makes batch tokens unique across processes and restarts.
    token_base: u64,
    token_counter: AtomicU64,
    /// How long a `replicated:N` append waits for replicas (`WAIT` timeout).
    replica_wait: std::time::Duration,
    /// Keeps `pubsubgo_redis_up` fresh once [`RedisStorage::observed`].
    probe: Option<Probe>,
    /// The entry format appends write (`entry_format`), kept fresh by `_format_watch`.
    format: Arc<AtomicU8>,
    _format_watch: FormatWatch,
}

impl RedisStorage {
    /// Records every round trip in `metrics` from now on (`pubsubgo_redis_*`),
    /// and probes each node of `settings` for `pubsubgo_redis_up` while this
    /// storage lives.
    pub fn observed(mut self, settings: &RedisSettings, metrics: RedisMetrics) -> Self {
        self.probe = Some(Probe::start(settings, metrics.clone()));
        self.conn.observer = metrics;
        self
    }

    /// Connects and settles the prefix's entry format (`entry_format`); fails
    /// with [`StorageError::Unavailable`] if Redis cannot be reached or the
    /// prefix's format is one this version does not know.
    pub async fn connect(settings: &RedisSettings) -> Result<Self, StorageError> {
        let conn = Connection::open(settings).await?;
        let format = Arc::new(AtomicU8::new(
            entry_format::settle(&conn, &settings.key_prefix).await?,
        ));
        let watch = FormatWatch::start(conn.clone(), settings.key_prefix.clone(), format.clone());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut seed = [0u8; 20];
        seed[..16].copy_from_slice(&nanos.to_le_bytes());
        seed[16..].copy_from_slice(&std::process::id().to_le_bytes());
        Ok(Self {
            conn,
            prefix: settings.key_prefix.clone(),
            partitions: Mutex::default(),
            owner_epochs: OwnerEpochs::default(),
            known_ends: KnownEnds::default(),
            token_base: xxhash_rust::xxh3::xxh3_64(&seed),
            token_counter: AtomicU64::new(0),
            // Half the response timeout, so the reply to WAIT arrives before
            // the client gives up on the call.
            replica_wait: settings.response_timeout / 2,
            probe: None,
            format,
            _format_watch: watch,
        })
    }

    /// The entry format this node writes now: [`FORMAT_FIELDS`] or [`FORMAT_PACKED`].
    pub fn entry_format(&self) -> u8 {
        self.format.load(Ordering::Relaxed)
    }

    /// Re-reads the prefix's entry format now instead of at the next
    /// [`FORMAT_POLL`]; returns the format written from now on.
    pub async fn refresh_entry_format(&self) -> u8 {
        entry_format::refresh(&self.conn, &self.prefix, &self.format).await;
        self.entry_format()
    }

    fn keys(&self, at: &PartitionRef) -> PartitionKeys {
        PartitionKeys::new(&self.prefix, at)
    }

    fn lock_partitions(&self) -> std::sync::MutexGuard<'_, HashMap<PartitionRef, Arc<Partition>>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The working copy of a partition (created empty on first use).
    fn partition(&self, at: &PartitionRef) -> Arc<Partition> {
        self.lock_partitions()
            .entry(at.clone())
            .or_default()
            .clone()
    }

    /// Records an append at `epoch`; when that raises this node's epoch on
    /// `at` (it claimed the partition), drops the cursors loaded before: the
    /// previous owner may have written them since.
    async fn appended_at(&self, at: &PartitionRef, epoch: Epoch) {
        if self.owner_epochs.appended_at(at, epoch) {
            self.partition(at).state.lock().await.cursors.clear();
        }
    }

    fn next_token(&self) -> String {
        let n = self.token_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}-{n}", self.token_base)
    }

    async fn delete_partition(&self, at: &PartitionRef) -> Result<(), StorageError> {
        self.owner_epochs.forget(at);
        self.known_ends.forget(at);
        let partition = self.lock_partitions().remove(at);
        let mut guard = match &partition {
            Some(partition) => Some(partition.state.lock().await),
            None => None,
        };
        if let Some(st) = guard.as_deref_mut() {
            st.deleted = true;
            st.cursors.clear();
        }
        let keys = self.keys(at);
        let subs_key = keys.subscriptions();
        let names: Vec<String> = self
            .conn
            .call(Access::Read, |mut c| async move {
                redis::cmd("SMEMBERS")
                    .arg(subs_key)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut doomed = vec![keys.log(), keys.meta(), keys.epoch(), keys.subscriptions()];
        for name in names {
            match cluster::SubscriptionName::new(name) {
                Ok(name) => doomed.push(keys.subscription(&name)),
                Err(error) => tracing::warn!(%error, "skipping a foreign subscription name"),
            }
        }
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("DEL").arg(doomed).ignore();
        self.conn
            .call(Access::Write, |mut c| async move {
                pipe.query_async::<()>(&mut c).await
            })
            .await
    }
}

#[async_trait]
impl MessageLog for RedisStorage {
    fn ack_level(&self) -> AckLevel {
        AckLevel::Leader
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.conn.ping().await
    }

    async fn check_options(
        &self,
        topic: &TopicName,
        partitions: u32,
        options: &AppendOptions,
    ) -> Result<(), StorageError> {
        let keys: Vec<PartitionKeys> = (0..partitions)
            .map(|partition| {
                self.keys(&PartitionRef {
                    topic: topic.clone(),
                    partition,
                })
            })
            .collect();
        durability::check(&self.conn, options.ack_level, &keys).await
    }

    async fn create_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        let creations = (0..partitions).map(|partition| {
            let meta = self
                .keys(&PartitionRef {
                    topic: topic.clone(),
                    partition,
                })
                .meta();
            let mut pipe = redis::pipe();
            pipe.atomic();
            for field in ["start", "end", "appended"] {
                pipe.cmd("HSETNX").arg(&meta).arg(field).arg(0).ignore();
            }
            self.conn.call(Access::Write, |mut c| async move {
                pipe.query_async::<()>(&mut c).await
            })
        });
        futures::future::try_join_all(creations).await?;
        Ok(())
    }

    async fn delete_topic(&self, topic: &TopicName, partitions: u32) -> Result<(), StorageError> {
        let deletions = (0..partitions).map(|partition| {
            let at = PartitionRef {
                topic: topic.clone(),
                partition,
            };
            async move { self.delete_partition(&at).await }
        });
        futures::future::try_join_all(deletions).await?;
        Ok(())
    }

    /// On its own, Redis storage is a single node's: it writes every
    /// partition at [`Epoch::SINGLE_NODE`].
    async fn append_with(
        &self,
        at: &PartitionRef,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        self.append_fenced(at, Epoch::SINGLE_NODE, messages, options)
            .await
    }

    async fn read(
        &self,
        at: &PartitionRef,
        from: u64,
        max: usize,
    ) -> Result<Vec<Arc<StoredMessage>>, StorageError> {
        let keys = self.keys(at);
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET").arg(keys.meta()).arg("start").arg("end");
        if max > 0 {
            pipe.cmd("XRANGE")
                .arg(keys.log())
                .arg(entry_id(from))
                .arg("+")
                .arg("COUNT")
                .arg(max);
        }
        let replies: Vec<Value> = self
            .conn
            .call(Access::Read, |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        let mut replies = replies.into_iter();
        let meta = replies.next().ok_or_else(|| corrupt("empty reply"))?;
        parse_bounds(meta, &keys)?;
        let Some(range) = replies.next() else {
            return Ok(Vec::new());
        };
        field_encoding::decode_range(range)
    }

    async fn offsets(&self, at: &PartitionRef) -> Result<PartitionOffsets, StorageError> {
        let meta = self.keys(at).meta();
        let fields: Vec<Option<u64>> = self
            .conn
            .call(Access::Read, |mut c| async move {
                redis::cmd("HMGET")
                    .arg(meta)
                    .arg("start")
                    .arg("end")
                    .arg("appended")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        match fields.as_slice() {
            [Some(start), Some(end), Some(bytes_appended)] => Ok(PartitionOffsets {
                start: *start,
                end: *end,
                bytes_appended: *bytes_appended,
            }),
            _ => Err(not_found(at)),
        }
    }

    async fn trim(
        &self,
        at: &PartitionRef,
        retention: &Retention,
        now_millis: u64,
    ) -> Result<u64, StorageError> {
        if retention.max_age_millis.is_none() && !retention.bounds_size() {
            return Ok(0);
        }
        let partition = self.partition(at);
        let mut st = partition.state.lock().await;
        let keys = self.keys(at);
        let optional = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut invocation = scripts::TRIM.prepare_invoke();
        invocation
            .key(keys.meta())
            .key(keys.log())
            .arg(now_millis)
            .arg(optional(retention.max_age_millis))
            .arg(optional(retention.max_bytes_per_partition))
            .arg(optional(retention.max_messages_per_partition));
        let dropped: i64 = self
            .conn
            .call(Access::Write, |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        let dropped = u64::try_from(dropped).map_err(|_| not_found(at))?;
        if dropped > 0 {
            // Cursors forget the trimmed offsets on their next lease.
            let start = self.offsets(at).await?.start;
            st.messages.evict(start);
        }
        Ok(dropped)
    }
}

fn not_found(at: &PartitionRef) -> StorageError {
    StorageError::NotFound {
        what: format!("partition {} of topic {}", at.partition, at.topic),
    }
}

//! The Raft log, vote and committed id, stored in redb.
//!
//! Every write is its own redb transaction with immediate durability (an
//! fsync before `commit` returns), run on the blocking pool. `append` commits
//! before it reports the entries flushed, so completions arrive in order and
//! never ahead of the disk (pitfalls #1960/#2118 in openraft's tracker are
//! about stores that complete out of order or early).

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::log_format;
use crate::storage::{Storage, blocking, storage_error};
use crate::types::{Entry, LogId, TypeConfig, Vote};
use crate::versioned_postcard;

/// Log entries by index; values are [`versioned_postcard`] encodings of
/// [`Entry`], read back through [`log_format`] (any version it knows).
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
/// Single values: the vote, the committed id and the last purged id.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_meta");

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// openraft's log storage over one redb database. Cloning shares the database;
/// the clone is also the log reader.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Storage>,
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").finish_non_exhaustive()
    }
}

impl LogStore {
    /// Uses `db`, creating the log tables if they do not exist yet.
    pub async fn new(db: Arc<Storage>) -> io::Result<Self> {
        let store = Self { db };
        store
            .write(|tx| {
                tx.open_table(LOG).map_err(storage_error)?;
                tx.open_table(META).map_err(storage_error)?;
                Ok(())
            })
            .await?;
        Ok(store)
    }

    /// Runs `f` in one durable write transaction on the blocking pool.
    async fn write<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction) -> io::Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        blocking(move || {
            // `Durability::Immediate` is redb's default: commit returns after fsync.
            let tx = db.begin_write().map_err(storage_error)?;
            let out = f(&tx)?;
            tx.commit().map_err(storage_error)?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` in one read transaction on the blocking pool.
    async fn read<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::ReadTransaction) -> io::Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        blocking(move || f(&db.begin_read().map_err(storage_error)?)).await
    }

    async fn get_meta<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &'static str,
    ) -> io::Result<Option<T>> {
        self.read(move |tx| {
            let table = tx.open_table(META).map_err(storage_error)?;
            match table.get(key).map_err(storage_error)? {
                Some(bytes) => versioned_postcard::decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn put_meta<T: Serialize>(&self, key: &'static str, value: &T) -> io::Result<()> {
        let bytes = versioned_postcard::encode(value)?;
        self.write(move |tx| {
            let mut table = tx.open_table(META).map_err(storage_error)?;
            table.insert(key, bytes.as_slice()).map_err(storage_error)?;
            Ok(())
        })
        .await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        let bounds: (Bound<u64>, Bound<u64>) =
            (range.start_bound().cloned(), range.end_bound().cloned());
        self.read(move |tx| {
            let table = tx.open_table(LOG).map_err(storage_error)?;
            let mut entries = Vec::new();
            for item in table.range(bounds).map_err(storage_error)? {
                let (_, bytes) = item.map_err(storage_error)?;
                entries.push(log_format::decode_entry(bytes.value())?);
            }
            Ok(entries)
        })
        .await
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        self.get_meta(VOTE).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> io::Result<LogState<TypeConfig>> {
        let last_log_id = self
            .read(|tx| {
                let table = tx.open_table(LOG).map_err(storage_error)?;
                match table.last().map_err(storage_error)? {
                    Some((_, bytes)) => Ok(Some(log_format::decode_entry(bytes.value())?.log_id())),
                    None => Ok(None),
                }
            })
            .await?;
        let last_purged_log_id: Option<LogId> = self.get_meta(LAST_PURGED).await?;
        Ok(LogState {
            last_log_id: last_log_id.or(last_purged_log_id),
            last_purged_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        self.put_meta(VOTE, vote).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        self.put_meta(COMMITTED, &committed).await
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        Ok(self.get_meta::<Option<LogId>>(COMMITTED).await?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded = entries
            .into_iter()
            .map(|entry| Ok((entry.index(), versioned_postcard::encode(&entry)?)))
            .collect::<io::Result<Vec<_>>>()?;
        self.write(move |tx| {
            let mut table = tx.open_table(LOG).map_err(storage_error)?;
            for (index, bytes) in &encoded {
                table
                    .insert(index, bytes.as_slice())
                    .map_err(storage_error)?;
            }
            Ok(())
        })
        .await?;
        // The transaction is committed, so the entries are on disk.
        callback.io_completed(Ok(()));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> io::Result<()> {
        let first_removed = last_log_id.map_or(0, |id| id.index() + 1);
        self.write(move |tx| {
            let mut table = tx.open_table(LOG).map_err(storage_error)?;
            table
                .retain_in(first_removed.., |_, _| false)
                .map_err(storage_error)
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        let bytes = versioned_postcard::encode(&log_id)?;
        let last_removed = log_id.index();
        // One transaction: the purged id and the removal are never seen apart.
        self.write(move |tx| {
            let mut meta = tx.open_table(META).map_err(storage_error)?;
            meta.insert(LAST_PURGED, bytes.as_slice())
                .map_err(storage_error)?;
            let mut log = tx.open_table(LOG).map_err(storage_error)?;
            log.retain_in(..=last_removed, |_, _| false)
                .map_err(storage_error)
        })
        .await
    }
}

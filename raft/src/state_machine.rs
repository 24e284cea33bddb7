//! The replicated state machine: [`cluster::Metadata`] advanced by committed
//! commands, plus snapshots of it.
//!
//! The metadata itself lives in memory (the "transient state machine" of
//! openraft's docs). Only snapshots are persisted, in the same redb file as the
//! log; on restart the last snapshot is loaded and openraft re-applies the log
//! from there up to the committed id the log store saved. So `applied_state`
//! never reports an effect that would be lost by a crash.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::sync::{Arc, Mutex, RwLock};

use cluster::{Metadata, Touched};
use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use redb::{ReadableDatabase, TableDefinition};
use tokio::sync::watch;

use crate::log_format;
use crate::storage::{Storage, blocking, storage_error};
use crate::types::{LogId, Snapshot, SnapshotData, SnapshotMeta, StoredMembership, TypeConfig};
use crate::versioned_postcard;

/// The current snapshot under [`CURRENT`]: a [`versioned_postcard`] encoding of
/// `(SnapshotMeta, SnapshotData)`.
const SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_snapshot");
const CURRENT: &str = "current";

/// How many applied changes [`AppliedMetadata`] remembers: a reader further
/// behind reads everything again.
const JOURNAL_ENTRIES: usize = 4096;

/// The applied metadata, shared between the state machine (the only writer)
/// and readers on the [`Consensus`](crate::Consensus) handle.
#[derive(Debug, Default)]
pub struct AppliedMetadata {
    metadata: RwLock<Metadata>,
    /// The index of the last applied log entry; changes after every apply.
    applied: watch::Sender<u64>,
    /// What the last applied commands changed, written under the metadata's
    /// write lock like `applied`.
    journal: Mutex<Journal>,
}

/// The recent applied changes: every change after index `from` is in
/// `entries` (by index); entries that changed nothing are left out.
#[derive(Debug, Default)]
struct Journal {
    from: u64,
    entries: VecDeque<(u64, Touched)>,
}

/// The metadata as applied, with what changed since a reader's last look.
#[derive(Debug)]
pub struct AppliedView<'a> {
    pub metadata: &'a Metadata,
    /// The applied index this view shows.
    pub applied: u64,
    /// Everything changed after the index the reader asked about, or `None`
    /// when the journal no longer reaches back that far (or a snapshot
    /// replaced the metadata since): the reader must look at everything.
    pub changed: Option<Vec<Touched>>,
}

impl AppliedMetadata {
    /// Reads the metadata as applied locally. Keep `f` short: it holds a lock.
    pub fn read<T>(&self, f: impl FnOnce(&Metadata) -> T) -> T {
        f(&self.metadata.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The last applied index, updated after each apply and snapshot install.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Reads the metadata with what changed after index `since` (`None`:
    /// never looked), all as of one applied index. Keep `f` short: it holds
    /// a lock.
    pub fn read_changes<T>(&self, since: Option<u64>, f: impl FnOnce(AppliedView<'_>) -> T) -> T {
        let metadata = self.metadata.read().unwrap_or_else(|p| p.into_inner());
        let applied = *self.applied.borrow();
        let changed = since.and_then(|since| {
            let journal = self.lock_journal();
            (since >= journal.from).then(|| {
                journal
                    .entries
                    .iter()
                    .filter(|(index, _)| *index > since)
                    .map(|(_, touched)| touched.clone())
                    .collect()
            })
        });
        f(AppliedView {
            metadata: &metadata,
            applied,
            changed,
        })
    }

    fn lock_journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes what the entry at `index` changed; call under the metadata's
    /// write lock.
    fn record(&self, index: u64, touched: Touched) {
        if touched.is_empty() {
            return;
        }
        let mut journal = self.lock_journal();
        journal.entries.push_back((index, touched));
        while journal.entries.len() > JOURNAL_ENTRIES {
            if let Some((dropped, _)) = journal.entries.pop_front() {
                journal.from = dropped;
            }
        }
    }

    fn replace(&self, metadata: Metadata, applied: Option<&LogId>) {
        let mut current = self.metadata.write().unwrap_or_else(|p| p.into_inner());
        *current = metadata;
        let index = applied.map_or(0, |id| id.index);
        // Whatever a reader saw before, it must look at everything again.
        *self.lock_journal() = Journal {
            from: index,
            entries: VecDeque::new(),
        };
        // Under the lock, as in `apply`.
        self.applied.send_replace(index);
    }
}

/// openraft's state machine over [`cluster::Metadata`].
pub struct StateMachine {
    db: Arc<Storage>,
    state: Arc<AppliedMetadata>,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
}

impl Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine")
            .field("last_applied", &self.last_applied)
            .finish_non_exhaustive()
    }
}

impl StateMachine {
    /// Uses `db` for snapshots and restores the last one, if any.
    pub async fn new(db: Arc<Storage>) -> io::Result<Self> {
        let setup = db.clone();
        blocking(move || {
            let tx = setup.begin_write().map_err(storage_error)?;
            tx.open_table(SNAPSHOT).map_err(storage_error)?;
            tx.commit().map_err(storage_error)
        })
        .await?;
        let mut machine = Self {
            db,
            state: Arc::default(),
            last_applied: None,
            last_membership: StoredMembership::default(),
        };
        if let Some((meta, data)) = load_snapshot(machine.db.clone()).await? {
            machine.restore(&meta, &data)?;
        }
        Ok(machine)
    }

    /// The applied metadata, for readers.
    pub fn applied_metadata(&self) -> Arc<AppliedMetadata> {
        self.state.clone()
    }

    fn restore(&mut self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let metadata = log_format::decode_snapshot(data)?;
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        self.state.replace(metadata, meta.last_log_id.as_ref());
        Ok(())
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            // The index is published under the metadata's write lock: whoever
            // reads the metadata with this entry applied then also reads an
            // applied index that includes it (routed calls send that index to
            // the owner, which must not answer from older metadata).
            let mut metadata = self
                .state
                .metadata
                .write()
                .unwrap_or_else(|p| p.into_inner());
            let response = match entry.payload {
                EntryPayload::Blank => None,
                EntryPayload::Normal(command) => {
                    let result = metadata.apply(command);
                    if let Ok(reply) = &result {
                        self.state.record(entry.log_id.index, Touched::of(reply));
                    }
                    Some(result)
                }
                EntryPayload::Membership(membership) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), membership);
                    None
                }
            };
            self.state.applied.send_replace(entry.log_id.index);
            drop(metadata);
            self.last_applied = Some(entry.log_id);
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        // Copy the state now: the builder may run while later entries apply.
        SnapshotBuilder {
            db: self.db.clone(),
            metadata: self.state.read(Metadata::clone),
            meta: SnapshotMeta {
                last_log_id: self.last_applied,
                last_membership: self.last_membership.clone(),
            },
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        data: SnapshotData,
    ) -> io::Result<()> {
        self.restore(meta, &data)?;
        save_snapshot(self.db.clone(), meta.clone(), data).await
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        Ok(load_snapshot(self.db.clone())
            .await?
            .map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}

/// Encodes and saves the metadata as it was when the builder was made.
#[derive(Debug)]
pub struct SnapshotBuilder {
    db: Arc<Storage>,
    metadata: Metadata,
    meta: SnapshotMeta,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let data = versioned_postcard::encode(&self.metadata)?;
        save_snapshot(self.db.clone(), self.meta.clone(), data.clone()).await?;
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: data,
        })
    }
}

async fn load_snapshot(db: Arc<Storage>) -> io::Result<Option<(SnapshotMeta, SnapshotData)>> {
    blocking(move || {
        let tx = db.begin_read().map_err(storage_error)?;
        let table = tx.open_table(SNAPSHOT).map_err(storage_error)?;
        match redb::ReadableTable::get(&table, CURRENT).map_err(storage_error)? {
            Some(bytes) => versioned_postcard::decode(bytes.value()).map(Some),
            None => Ok(None),
        }
    })
    .await
}

/// Saves a snapshot unless a newer one is already saved (a built snapshot and
/// an installed one can race; the newer must win).
async fn save_snapshot(db: Arc<Storage>, meta: SnapshotMeta, data: SnapshotData) -> io::Result<()> {
    blocking(move || {
        let tx = db.begin_write().map_err(storage_error)?;
        {
            let mut table = tx.open_table(SNAPSHOT).map_err(storage_error)?;
            let saved = match redb::ReadableTable::get(&table, CURRENT).map_err(storage_error)? {
                Some(bytes) => Some(
                    versioned_postcard::decode::<(SnapshotMeta, SnapshotData)>(bytes.value())?.0,
                ),
                None => None,
            };
            if saved.is_some_and(|saved| saved.last_log_id > meta.last_log_id) {
                return Ok(());
            }
            let bytes = versioned_postcard::encode(&(meta, data))?;
            table
                .insert(CURRENT, bytes.as_slice())
                .map_err(storage_error)?;
        }
        tx.commit().map_err(storage_error)
    })
    .await
}

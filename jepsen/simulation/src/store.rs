//! The simulation's Raft storage, in memory: a [`Disk`] per node that
//! survives its crashes (log, vote, committed id), and a state machine over
//! `cluster::Metadata` that starts empty after each restart and is rebuilt by
//! openraft from the committed log, as the real one is from its snapshot.
//!
//! Why not the redb store: it runs every write on Tokio's blocking pool (real
//! threads finishing in an order no seed controls) and fsyncs a real file,
//! and `raft::LogStore` is bound to `raft::TypeConfig`, whose runtime draws
//! unseeded random numbers. The contract the simulation relies on is the same
//! one the redb store keeps: `append` reports entries flushed only once they
//! are durable (see [`Break::LazyFsync`] for what happens otherwise).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, RwLock};

use cluster::{Command, Metadata};
use futures::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, IOFlushed, LogState, RaftLogStorage, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftLogReader, RaftSnapshotBuilder};

use crate::breaks::Break;
use crate::types::{
    Entry, LogId, NodeId, SimConfig, Snapshot, SnapshotMeta, StoredMembership, Vote,
};

/// A simulated node's Raft handle.
pub type SimRaft = openraft::Raft<SimConfig, MemMachine>;

/// What one node keeps across a crash.
#[derive(Debug, Default)]
pub struct Disk {
    vote: Option<Vote>,
    committed: Option<LogId>,
    log: BTreeMap<u64, Entry>,
    /// Indexes reported flushed but not durable yet (only under `LazyFsync`).
    unsynced: BTreeSet<u64>,
    lazy_fsync: bool,
    forget_vote: bool,
}

impl Disk {
    pub fn new(breaks: Option<Break>) -> Arc<Mutex<Disk>> {
        Arc::new(Mutex::new(Disk {
            lazy_fsync: breaks == Some(Break::LazyFsync),
            forget_vote: breaks == Some(Break::ForgetVote),
            ..Disk::default()
        }))
    }

    /// The node crashed: what was not durable is gone.
    pub fn crash(&mut self) {
        for index in std::mem::take(&mut self.unsynced) {
            self.log.remove(&index);
        }
        // A committed id past the durable log points at nothing; the store
        // recovers to its last durable entry (and the group may lose what
        // it acknowledged, which is what `lazy-fsync` shows).
        let last = self.log.values().next_back().map(|e| e.log_id());
        if self.committed.map(|c| c.index()) > last.map(|l| l.index()) {
            self.committed = last;
        }
        if self.forget_vote {
            self.vote = None;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// openraft's log storage over a [`Disk`].
#[derive(Debug, Clone)]
pub struct MemLog {
    pub disk: Arc<Mutex<Disk>>,
}

impl RaftLogReader<SimConfig> for MemLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        Ok(lock(&self.disk)
            .log
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        Ok(lock(&self.disk).vote)
    }
}

impl RaftLogStorage<SimConfig> for MemLog {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> io::Result<LogState<SimConfig>> {
        let disk = lock(&self.disk);
        Ok(LogState {
            last_log_id: disk.log.values().next_back().map(|e| e.log_id()),
            last_purged_log_id: None,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        lock(&self.disk).vote = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        lock(&self.disk).committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        Ok(lock(&self.disk).committed)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<SimConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        {
            let mut disk = lock(&self.disk);
            // Lazily: the previous batch becomes durable only now.
            disk.unsynced.clear();
            for entry in entries {
                let index = entry.index();
                if disk.lazy_fsync {
                    disk.unsynced.insert(index);
                }
                disk.log.insert(index, entry);
            }
        }
        callback.io_completed(Ok(()));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> io::Result<()> {
        let first_removed = last_log_id.map_or(0, |id| id.index() + 1);
        let mut disk = lock(&self.disk);
        disk.log.split_off(&first_removed);
        disk.unsynced.retain(|i| *i < first_removed);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        // The simulation never snapshots, so openraft never purges.
        Err(io::Error::other(format!(
            "unexpected purge up to {log_id:?}"
        )))
    }
}

/// One applied log entry, as the invariant checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub node: NodeId,
    pub index: u64,
    /// A hash of the entry's log id (term and leader) and payload.
    pub entry: u64,
}

/// A node's applied metadata and the index it is applied up to.
#[derive(Debug, Default)]
pub struct View {
    inner: RwLock<(u64, Metadata)>,
}

impl View {
    pub fn read<T>(&self, f: impl FnOnce(u64, &Metadata) -> T) -> T {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        f(inner.0, &inner.1)
    }
}

/// The metadata state machine; `drop_owner_changes` is [`Break::DropOwnerChanges`].
pub struct MemMachine {
    pub node: NodeId,
    pub view: Arc<View>,
    pub sink: Arc<Mutex<Vec<Applied>>>,
    pub drop_owner_changes: bool,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    snapshot: Option<(SnapshotMeta, Vec<u8>)>,
}

impl Debug for MemMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemMachine")
            .field("node", &self.node)
            .finish()
    }
}

impl MemMachine {
    pub fn new(node: NodeId, sink: Arc<Mutex<Vec<Applied>>>, drop_owner_changes: bool) -> Self {
        Self {
            node,
            view: Arc::default(),
            sink,
            drop_owner_changes,
            last_applied: None,
            last_membership: StoredMembership::default(),
            snapshot: None,
        }
    }
}

/// A deterministic hash (SipHash with fixed keys) of a value's debug form.
pub fn digest(value: &impl Debug) -> u64 {
    let mut h = DefaultHasher::new();
    format!("{value:?}").hash(&mut h);
    h.finish()
}

fn changes_owners(command: &Command) -> bool {
    matches!(
        command,
        Command::SetNodeLive { .. } | Command::Rebalance | Command::RemoveNode { .. }
    )
}

impl RaftStateMachine<SimConfig> for MemMachine {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = MemSnapshot;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: Stream<Item = io::Result<EntryResponder<SimConfig>>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let hash = digest(&(&entry.log_id, &entry.payload));
            let index = entry.log_id.index();
            let mut inner = self.view.inner.write().unwrap_or_else(|p| p.into_inner());
            let response = match entry.payload {
                EntryPayload::Blank => None,
                EntryPayload::Normal(command)
                    if self.drop_owner_changes && changes_owners(&command) =>
                {
                    Some(inner.1.clone().apply(command))
                }
                EntryPayload::Normal(command) => Some(inner.1.apply(command)),
                EntryPayload::Membership(membership) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), membership);
                    None
                }
            };
            inner.0 = index;
            drop(inner);
            self.last_applied = Some(entry.log_id);
            lock(&self.sink).push(Applied {
                node: self.node,
                index,
                entry: hash,
            });
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        MemSnapshot {
            data: self.view.read(|_, m| raft::versioned_postcard::encode(m)),
            meta: SnapshotMeta {
                last_log_id: self.last_applied,
                last_membership: self.last_membership.clone(),
            },
        }
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, data: Vec<u8>) -> io::Result<()> {
        let metadata: Metadata = raft::versioned_postcard::decode(&data)?;
        let applied = meta.last_log_id.map_or(0, |id| id.index());
        *self.view.inner.write().unwrap_or_else(|p| p.into_inner()) = (applied, metadata);
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        self.snapshot = Some((meta.clone(), data));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        Ok(self
            .snapshot
            .clone()
            .map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}

/// A snapshot of the metadata as it was when the builder was made.
#[derive(Debug)]
pub struct MemSnapshot {
    data: io::Result<Vec<u8>>,
    meta: SnapshotMeta,
}

impl RaftSnapshotBuilder<SimConfig> for MemSnapshot {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let data = std::mem::replace(&mut self.data, Ok(Vec::new()))?;
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: data,
        })
    }
}

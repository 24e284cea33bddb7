//! [`Storage`]: the one redb file (`raft.redb`) that holds the log, the vote,
//! the committed id and the current snapshot.
//!
//! redb allows one open handle per file. openraft drops the log store and the
//! state machine some time after `Raft::shutdown` returns, so a restart in the
//! same process must wait for that; [`Storage::closed`] says when.

use std::fmt::Debug;
use std::io;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

/// The open database; shared by the log store and the state machine.
pub struct Storage {
    db: redb::Database,
    /// Dropped with the last user of the file, which closes the channel.
    open: watch::Sender<()>,
}

impl Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").finish_non_exhaustive()
    }
}

/// redb's page cache for the Raft log and snapshots.
const CACHE_BYTES: usize = 4 * 1024 * 1024;

impl Storage {
    /// Opens (or creates) the database file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<Arc<Self>> {
        let path = path.as_ref().to_owned();
        blocking(move || {
            // The metadata is small; redb's default cache would grow to 1 GiB.
            let db = redb::Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(path)
                .map_err(storage_error)?;
            Ok(Arc::new(Self {
                db,
                open: watch::Sender::new(()),
            }))
        })
        .await
    }

    /// A signal for when every handle to this database is dropped and the
    /// file can be opened again.
    pub fn closed(&self) -> StorageClosed {
        StorageClosed(self.open.subscribe())
    }
}

/// See [`Storage::closed`].
#[derive(Debug, Clone)]
pub struct StorageClosed(watch::Receiver<()>);

impl StorageClosed {
    /// Completes once the database is closed.
    pub async fn wait(mut self) {
        while self.0.changed().await.is_ok() {}
    }
}

impl Deref for Storage {
    type Target = redb::Database;

    fn deref(&self) -> &redb::Database {
        &self.db
    }
}

/// Runs blocking storage work off the async workers.
pub(crate) async fn blocking<T, F>(f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

/// redb's errors, as the `io::Error` openraft's storage traits return.
pub(crate) fn storage_error(e: impl Into<redb::Error>) -> io::Error {
    io::Error::other(e.into())
}

//! openraft's storage conformance suite, run against the redb log store and
//! the metadata state machine.

use std::io;

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use raft::{LogStore, StateMachine, Storage, TypeConfig};
use tempfile::TempDir;

struct RedbBuilder;

impl RedbBuilder {
    async fn open() -> io::Result<(TempDir, LogStore, StateMachine)> {
        let dir = TempDir::new()?;
        let db = Storage::open(dir.path().join("raft.redb")).await?;
        Ok((
            dir,
            LogStore::new(db.clone()).await?,
            StateMachine::new(db).await?,
        ))
    }
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for RedbBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        Self::open()
            .await
            .map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))
    }
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn redb_store_passes_openraft_suite() -> Result<(), StorageError<TypeConfig>> {
    Suite::test_all(RedbBuilder).await
}

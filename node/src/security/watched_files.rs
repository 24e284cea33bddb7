//! [`WatchedFiles`]: what a set of files says, read again when they change,
//! so a rotated certificate or an edited key list is used without a restart.
//! The certificates ([`ReloadingCert`](super::reloading_cert::ReloadingCert))
//! and the auth files ([`Gatekeeper`](super::auth::Gatekeeper)) are watched
//! this way.
//!
//! The files are polled: a Kubernetes Secret volume swaps a symlink, which
//! inotify on the file itself misses, and a few kilobytes read every
//! [`RELOAD_INTERVAL`] cost nothing. A set that does not load (a key written
//! before its certificate) is logged and the last good one kept; the next
//! poll tries again.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often watched files are checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// A set of files and how to make sense of their bytes.
pub trait FileSet: std::fmt::Debug + Send + Sync + 'static {
    /// What the files say once parsed.
    type Loaded: std::fmt::Debug + Send + Sync + 'static;
    /// What the files are, for log lines ("TLS certificate").
    const WHAT: &'static str;
    /// The files, in the order [`FileSet::parse`] gets their bytes.
    fn paths(&self) -> Vec<&Path>;
    /// Parses the bytes of [`FileSet::paths`], one entry per path.
    fn parse(&self, files: &[Vec<u8>]) -> Result<Self::Loaded, String>;
}

/// The last set of files that loaded, and the bytes it was parsed from.
#[derive(Debug)]
pub struct WatchedFiles<S: FileSet> {
    source: S,
    current: RwLock<Arc<S::Loaded>>,
    bytes: Mutex<Vec<Vec<u8>>>,
}

impl<S: FileSet> WatchedFiles<S> {
    /// Loads the files now; fails when one does not read or parse.
    pub fn load(source: S) -> Result<Arc<Self>, String> {
        let bytes = read_all(&source)?;
        let loaded = source.parse(&bytes)?;
        Ok(Arc::new(Self {
            source,
            current: RwLock::new(Arc::new(loaded)),
            bytes: Mutex::new(bytes),
        }))
    }

    /// What the files said when they last loaded.
    pub fn current(&self) -> Arc<S::Loaded> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Loads the files again if their bytes changed; answers whether what
    /// they say changed.
    pub fn reload_if_changed(&self) -> bool {
        let fresh = match read_all(&self.source) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(%error, files = S::WHAT, "cannot read the files; keeping the loaded ones");
                return false;
            }
        };
        let mut bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        if *bytes == fresh {
            return false;
        }
        match self.source.parse(&fresh) {
            Ok(loaded) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
                *bytes = fresh;
                tracing::info!(files = S::WHAT, "reloaded");
                true
            }
            Err(error) => {
                tracing::warn!(%error, files = S::WHAT, "the changed files do not load; keeping the loaded ones");
                false
            }
        }
    }

    /// Polls the files until `shutdown`.
    pub async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RELOAD_INTERVAL) => {}
            }
            self.reload_if_changed();
        }
    }
}

fn read_all<S: FileSet>(source: &S) -> Result<Vec<Vec<u8>>, String> {
    source
        .paths()
        .into_iter()
        .map(|path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display())))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// One file whose text must be a number.
    #[derive(Debug)]
    struct Number(PathBuf);

    impl FileSet for Number {
        type Loaded = u64;
        const WHAT: &'static str = "number";
        fn paths(&self) -> Vec<&Path> {
            vec![&self.0]
        }
        fn parse(&self, files: &[Vec<u8>]) -> Result<u64, String> {
            let text = std::str::from_utf8(&files[0]).map_err(|e| e.to_string())?;
            text.trim().parse().map_err(|e| format!("{e}"))
        }
    }

    #[test]
    fn a_change_that_loads_replaces_the_value_and_one_that_does_not_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("n");
        std::fs::write(&path, "1").expect("write");
        let watched = WatchedFiles::load(Number(path.clone())).expect("loads");
        assert!(!watched.reload_if_changed(), "unchanged bytes: no reload");

        std::fs::write(&path, "2").expect("write");
        assert!(watched.reload_if_changed());
        assert_eq!(*watched.current(), 2);

        std::fs::write(&path, "two").expect("write");
        assert!(!watched.reload_if_changed(), "a file that does not parse");
        assert_eq!(*watched.current(), 2, "the last good value is kept");

        std::fs::remove_file(&path).expect("remove");
        assert!(!watched.reload_if_changed(), "a missing file");
        assert_eq!(*watched.current(), 2);
        assert!(
            WatchedFiles::load(Number(path)).is_err(),
            "nothing to start from"
        );
    }
}

//! [`ReloadingCert`]: the client port's certificate and key, read again from
//! their files when they change, so a rotated certificate (a renewed
//! cert-manager Secret, a replaced file) is served without a restart.
//!
//! The files are polled: a Kubernetes Secret volume swaps a symlink, which
//! inotify on the file itself misses, and a few kilobytes read every
//! [`RELOAD_INTERVAL`] cost nothing. A pair that does not load (a key written
//! before its certificate) is logged and the last good pair kept; the next
//! poll tries again.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use api::tls::{TlsError, provider, read_certificates};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use tokio_util::sync::CancellationToken;

use crate::config::security::CertFiles;

/// How often the certificate and key files are checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// The certificate the client port serves now.
#[derive(Debug)]
pub struct ReloadingCert {
    files: CertFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// The bytes of the certificate and key files last loaded.
    loaded: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl ReloadingCert {
    /// Loads the pair now; fails when it does not load.
    pub fn load(files: CertFiles) -> Result<Arc<Self>, TlsError> {
        let bytes = read_pair(&files)?;
        let key = certified_key(&files)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(key),
            loaded: Mutex::new(bytes),
        }))
    }

    /// Loads the files again if their bytes changed; answers whether the
    /// served certificate changed.
    pub fn reload_if_changed(&self) -> bool {
        let Ok(bytes) = read_pair(&self.files) else {
            tracing::warn!(cert = %self.files.cert.display(), "cannot read the TLS certificate or key; keeping the loaded one");
            return false;
        };
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if *loaded == bytes {
            return false;
        }
        match certified_key(&self.files) {
            Ok(key) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = key;
                *loaded = bytes;
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(error) => {
                tracing::warn!(%error, "the changed TLS certificate does not load; keeping the loaded one");
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

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn read_pair(files: &CertFiles) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| TlsError::Certificates {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    Ok((read(&files.cert)?, read(&files.key)?))
}

fn certified_key(files: &CertFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = read_certificates(&files.cert)?;
    let key_error = |reason: String| TlsError::Key {
        path: files.key.display().to_string(),
        reason,
    };
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| key_error(e.to_string()))?;
    let key = CertifiedKey::from_der(chain, key, &provider())?;
    Ok(Arc::new(key))
}

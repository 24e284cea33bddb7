//! [`ReloadingCert`]: a certificate and its key, read again from their files
//! when they change ([`WatchedFiles`]), so a rotated certificate (a renewed
//! cert-manager Secret, a replaced file) is used without a restart. The
//! client port serves it; the peer port both serves it and presents it to
//! the peers it calls (mutual TLS).

use std::sync::Arc;

use api::tls::provider;
use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::watched_files::{FileSet, WatchedFiles};
use crate::config::security::CertFiles;

/// The certificate in use now.
pub type ReloadingCert = WatchedFiles<CertFiles>;

impl FileSet for CertFiles {
    type Loaded = CertifiedKey;
    const WHAT: &'static str = "TLS certificate and key";

    fn paths(&self) -> Vec<&std::path::Path> {
        vec![&self.cert, &self.key]
    }

    fn parse(&self, files: &[Vec<u8>]) -> Result<CertifiedKey, String> {
        let [cert, key] = files else {
            unreachable!("two paths, two files")
        };
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read certificates from {}: {e}", self.cert.display()))?;
        if chain.is_empty() {
            return Err(format!("{} holds no certificate", self.cert.display()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
            format!(
                "cannot read the private key from {}: {e}",
                self.key.display()
            )
        })?;
        CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
            format!(
                "{} and {} do not make a certificate and its key: {e}",
                self.cert.display(),
                self.key.display()
            )
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ResolvesClientCert for ReloadingCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

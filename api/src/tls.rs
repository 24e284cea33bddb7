//! TLS for clients and servers: rustls with the `ring` crypto provider.
//!
//! `ring` builds with a C compiler alone; rustls' default, aws-lc-rs, also
//! needs cmake (and nasm on some targets), which a fresh machine or a slim CI
//! image may lack. Every config built here names the provider explicitly, so
//! nothing depends on a process-wide default; [`install_default_provider`]
//! also installs it as that default for libraries that ask for one (the
//! Redis client's `rediss://`).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificates from {path}: {reason}")]
    Certificates { path: String, reason: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: String },
    #[error("cannot read the private key from {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The crypto provider every TLS config of PubSubGo uses.
#[expect(
    deprecated,
    reason = "ring's provider lacks post-quantum key exchange; the provider that has it (aws-lc-rs) needs cmake to build, see docs/security.md"
)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes [`provider`] the process default, unless one is installed already.
#[expect(
    deprecated,
    reason = "ring's provider lacks post-quantum key exchange; the provider that has it (aws-lc-rs) needs cmake to build, see docs/security.md"
)]
pub fn install_default_provider() {
    // An error means some provider is installed already: keep it.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Every certificate of the PEM file at `path`.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let shown = path.display().to_string();
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| TlsError::Certificates {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate { path: shown });
    }
    Ok(certificates)
}

/// The trust anchors of the PEM file at `path`.
pub fn root_store(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(path)? {
        roots.add(certificate)?;
    }
    Ok(roots)
}

/// A client config trusting only the CA certificates of `ca_file`, or, with
/// none, the system's trust store. It offers no ALPN protocol: the server's
/// client port offers only `http/1.1`, and a client with
/// [`crate::ClientOptions::http2`] that offered `h2` would be refused.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let roots = match ca_file {
        Some(path) => root_store(path)?,
        None => {
            let mut roots = RootCertStore::empty();
            // Unreadable system certificates are skipped: a client with a CA
            // file does not need them, and one without fails at the handshake.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            roots
        }
    };
    trusting(roots)
}

/// A client config trusting exactly `roots` (none: a config that can shake
/// hands with no server, for a connector that only ever speaks `http://`).
pub fn trusting(roots: RootCertStore) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

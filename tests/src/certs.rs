//! [`TestCa`]: a certificate authority made fresh for one test (rcgen), and
//! server certificates it signs, written as PEM files into a temporary
//! directory. No private key is ever checked in.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A CA and the directory its files are written to (removed on drop).
#[derive(Debug)]
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
    /// The CA certificate, PEM: what clients trust (`--ca-file`).
    pub ca_file: PathBuf,
}

/// A certificate and its key as PEM files.
#[derive(Debug, Clone)]
pub struct CertPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, issuer.pem()).expect("write the CA certificate");
        Self {
            issuer,
            dir,
            ca_file,
        }
    }

    /// The directory the files live in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A certificate for `localhost` and `127.0.0.1`, written as
    /// `<file_stem>.pem` and `<file_stem>.key`.
    pub fn server_cert(&self, file_stem: &str) -> CertPair {
        let pair = CertPair {
            cert: self.dir.path().join(format!("{file_stem}.pem")),
            key: self.dir.path().join(format!("{file_stem}.key")),
        };
        self.write_server_cert(&pair, file_stem);
        pair
    }

    /// A certificate for `names` (DNS names or IP addresses), written as
    /// `<file_stem>.pem` and `<file_stem>.key`.
    pub fn cert_for(&self, file_stem: &str, names: &[String]) -> CertPair {
        let pair = CertPair {
            cert: self.dir.path().join(format!("{file_stem}.pem")),
            key: self.dir.path().join(format!("{file_stem}.key")),
        };
        self.write_cert(&pair, file_stem, names.to_vec());
        pair
    }

    /// Writes a new certificate (common name `common_name`) and key over `pair`'s files.
    pub fn write_server_cert(&self, pair: &CertPair, common_name: &str) {
        self.write_cert(
            pair,
            common_name,
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        );
    }

    fn write_cert(&self, pair: &CertPair, common_name: &str, names: Vec<String>) {
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        // The key first, as a careless rotation would: the broker keeps the
        // old pair until both files match.
        std::fs::write(&pair.key, key.serialize_pem()).expect("write the key");
        std::fs::write(&pair.cert, cert.pem()).expect("write the certificate");
    }
}

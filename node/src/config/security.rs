//! [`SecuritySettings`]: TLS on the client port and authentication (see
//! `docs/security.md` for the file formats and what each setting turns on).
//!
//! ```yaml
//! tls:
//!   cert_file: /etc/pubsubgo/tls/tls.crt   # both set: the client port speaks TLS
//!   key_file: /etc/pubsubgo/tls/tls.key    # both re-read when they change
//!   metrics: true                          # the metrics port serves them too
//!   peer_cert_file: /etc/pubsubgo/peer/tls.crt   # all three set: mutual TLS
//!   peer_key_file: /etc/pubsubgo/peer/tls.key    # on the peer port
//!   peer_ca_file: /etc/pubsubgo/peer/ca.crt      # the cluster CA
//! auth:
//!   enabled: true
//!   api_keys_file: /etc/pubsubgo/auth/api-keys.yaml   # names and SHA-256 hashes
//!   jwks_file: /etc/pubsubgo/auth/jwks.json           # JWT verification keys
//!   jwt_audience: pubsubgo
//!   jwt_issuer: https://issuer.example
//!   policy_file: /etc/pubsubgo/auth/policy.yaml       # allow rules per principal
//! limits:
//!   principal_per_second: 1000   # token bucket per authenticated principal
//!   address_per_second: 2000     # token bucket per client IP address
//!   streams_per_principal: 100   # open WebSocket streams per principal
//! ```

use std::num::NonZeroU32;
use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use super::error::ConfigError;

/// The resolved security settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecuritySettings {
    /// `Some` when the client port speaks TLS.
    pub tls: Option<CertFiles>,
    /// The metrics port serves the client port's certificate too.
    pub metrics_tls: bool,
    /// `Some` when the peer port runs mutual TLS.
    pub peer_tls: Option<PeerTlsFiles>,
    /// `Some` when requests must carry credentials.
    pub auth: Option<AuthSettings>,
    pub rate_limits: RateLimitSettings,
}

/// Requests per second each bucket refills at (and holds, as its burst);
/// `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub principal_per_second: Option<NonZeroU32>,
    pub address_per_second: Option<NonZeroU32>,
    /// Open WebSocket streams per principal; `None` is no cap.
    pub streams_per_principal: Option<NonZeroU32>,
}

/// A PEM certificate chain and its PEM private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// This node's certificate on the peer port and the cluster CA whose
/// certificates it accepts from peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerTlsFiles {
    pub own: CertFiles,
    pub ca: PathBuf,
}

/// Where the principals and their rights are read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSettings {
    pub api_keys_file: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    pub jwt_audience: Option<String>,
    pub jwt_issuer: Option<String>,
    pub policy_file: Option<PathBuf>,
}

/// The security flags, each with its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct SecurityArgs {
    /// PEM certificate chain of the client port; with the key file, TLS is on.
    #[arg(long, env = "PUBSUB_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the client port's certificate.
    #[arg(long, env = "PUBSUB_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Serve the client port's certificate on the metrics port too [default: false].
    #[arg(long, env = "PUBSUB_METRICS_TLS")]
    pub metrics_tls: Option<bool>,
    /// PEM certificate chain this node presents on the peer port, issued by the cluster CA.
    #[arg(long, env = "PUBSUB_PEER_TLS_CERT_FILE")]
    pub peer_tls_cert_file: Option<PathBuf>,
    /// PEM private key of the peer certificate.
    #[arg(long, env = "PUBSUB_PEER_TLS_KEY_FILE")]
    pub peer_tls_key_file: Option<PathBuf>,
    /// PEM cluster CA; with the peer certificate and key, the peer port runs mutual TLS.
    #[arg(long, env = "PUBSUB_PEER_TLS_CA_FILE")]
    pub peer_tls_ca_file: Option<PathBuf>,
    /// Require credentials (API key or JWT) on every API request [default: false].
    #[arg(long, env = "PUBSUB_AUTH_ENABLED")]
    pub auth_enabled: Option<bool>,
    /// YAML file of API keys: names and SHA-256 hashes.
    #[arg(long, env = "PUBSUB_AUTH_API_KEYS_FILE")]
    pub auth_api_keys_file: Option<PathBuf>,
    /// JWKS (JSON) file of the keys JWTs are verified with.
    #[arg(long, env = "PUBSUB_AUTH_JWKS_FILE")]
    pub auth_jwks_file: Option<PathBuf>,
    /// The `aud` every JWT must name (unchecked when unset).
    #[arg(long, env = "PUBSUB_AUTH_JWT_AUDIENCE")]
    pub auth_jwt_audience: Option<String>,
    /// The `iss` every JWT must have (unchecked when unset).
    #[arg(long, env = "PUBSUB_AUTH_JWT_ISSUER")]
    pub auth_jwt_issuer: Option<String>,
    /// YAML file of allow rules per principal; without it every request is denied.
    #[arg(long, env = "PUBSUB_AUTH_POLICY_FILE")]
    pub auth_policy_file: Option<PathBuf>,
    /// Requests per second per authenticated principal; 0 is no limit [default: 0].
    #[arg(long, env = "PUBSUB_RATE_LIMIT_PRINCIPAL_PER_SECOND")]
    pub rate_limit_principal_per_second: Option<u32>,
    /// Requests per second per client IP address; 0 is no limit [default: 0].
    #[arg(long, env = "PUBSUB_RATE_LIMIT_ADDRESS_PER_SECOND")]
    pub rate_limit_address_per_second: Option<u32>,
    /// Open WebSocket streams per authenticated principal; 0 is no cap [default: 0].
    #[arg(long, env = "PUBSUB_LIMIT_STREAMS_PER_PRINCIPAL")]
    pub limit_streams_per_principal: Option<u32>,
}

/// `limits:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsSection {
    principal_per_second: Option<u32>,
    address_per_second: Option<u32>,
    streams_per_principal: Option<u32>,
}

/// `tls:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsSection {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    metrics: Option<bool>,
    peer_cert_file: Option<PathBuf>,
    peer_key_file: Option<PathBuf>,
    peer_ca_file: Option<PathBuf>,
}

/// `auth:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthSection {
    enabled: Option<bool>,
    api_keys_file: Option<PathBuf>,
    jwks_file: Option<PathBuf>,
    jwt_audience: Option<String>,
    jwt_issuer: Option<String>,
    policy_file: Option<PathBuf>,
}

impl SecuritySettings {
    /// The flags over the file's keys over the defaults (TLS and auth off).
    pub(super) fn resolve(
        args: &SecurityArgs,
        tls: TlsSection,
        auth: AuthSection,
        limits: LimitsSection,
    ) -> Result<Self, ConfigError> {
        let peer_tls = PeerTlsFiles::resolve(args, &tls)?;
        let metrics_tls = args.metrics_tls.or(tls.metrics).unwrap_or(false);
        let cert = args.tls_cert_file.clone().or(tls.cert_file);
        let key = args.tls_key_file.clone().or(tls.key_file);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(CertFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "set both the TLS certificate file and the TLS key file, or neither".to_owned(),
                ));
            }
        };
        if metrics_tls && tls.is_none() {
            return Err(ConfigError::Invalid(
                "TLS on the metrics port serves the client port's certificate: set the TLS certificate and key files too".to_owned(),
            ));
        }
        let enabled = args.auth_enabled.or(auth.enabled).unwrap_or(false);
        let settings = AuthSettings {
            api_keys_file: args.auth_api_keys_file.clone().or(auth.api_keys_file),
            jwks_file: args.auth_jwks_file.clone().or(auth.jwks_file),
            jwt_audience: args.auth_jwt_audience.clone().or(auth.jwt_audience),
            jwt_issuer: args.auth_jwt_issuer.clone().or(auth.jwt_issuer),
            policy_file: args.auth_policy_file.clone().or(auth.policy_file),
        };
        if enabled && settings.api_keys_file.is_none() && settings.jwks_file.is_none() {
            return Err(ConfigError::Invalid(
                "authentication is enabled but neither an API keys file nor a JWKS file is set"
                    .to_owned(),
            ));
        }
        let rate_limits = RateLimitSettings {
            principal_per_second: args
                .rate_limit_principal_per_second
                .or(limits.principal_per_second)
                .and_then(NonZeroU32::new),
            address_per_second: args
                .rate_limit_address_per_second
                .or(limits.address_per_second)
                .and_then(NonZeroU32::new),
            streams_per_principal: args
                .limit_streams_per_principal
                .or(limits.streams_per_principal)
                .and_then(NonZeroU32::new),
        };
        Ok(Self {
            tls,
            metrics_tls,
            peer_tls,
            auth: enabled.then_some(settings),
            rate_limits,
        })
    }
}

impl PeerTlsFiles {
    /// All three files set: mutual TLS; none: plain; some: an error.
    fn resolve(args: &SecurityArgs, tls: &TlsSection) -> Result<Option<Self>, ConfigError> {
        let cert = args
            .peer_tls_cert_file
            .clone()
            .or(tls.peer_cert_file.clone());
        let key = args.peer_tls_key_file.clone().or(tls.peer_key_file.clone());
        let ca = args.peer_tls_ca_file.clone().or(tls.peer_ca_file.clone());
        match (cert, key, ca) {
            (Some(cert), Some(key), Some(ca)) => Ok(Some(Self {
                own: CertFiles { cert, key },
                ca,
            })),
            (None, None, None) => Ok(None),
            _ => Err(ConfigError::Invalid(
                "mutual TLS on the peer port needs the peer certificate, key and CA files: set all three or none".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings of `args` alone, no file.
    fn from_flags(args: &SecurityArgs) -> Result<SecuritySettings, ConfigError> {
        SecuritySettings::resolve(
            args,
            TlsSection::default(),
            AuthSection::default(),
            LimitsSection::default(),
        )
    }

    #[test]
    fn tls_needs_both_files_and_auth_needs_a_source_of_principals() {
        let one = SecurityArgs {
            tls_cert_file: Some("c.pem".into()),
            ..SecurityArgs::default()
        };
        assert!(from_flags(&one).is_err());
        let on = SecurityArgs {
            auth_enabled: Some(true),
            ..SecurityArgs::default()
        };
        assert!(from_flags(&on).is_err());
        let off = from_flags(&SecurityArgs::default()).expect("defaults");
        assert_eq!(
            off,
            SecuritySettings::default(),
            "TLS and auth are off by default"
        );
        let peer_half = SecurityArgs {
            peer_tls_cert_file: Some("c.pem".into()),
            peer_tls_key_file: Some("k.pem".into()),
            ..SecurityArgs::default()
        };
        let refused = from_flags(&peer_half);
        assert!(refused.is_err(), "peer TLS without a CA: {refused:?}");
        let metrics_alone = SecurityArgs {
            metrics_tls: Some(true),
            ..SecurityArgs::default()
        };
        assert!(
            from_flags(&metrics_alone).is_err(),
            "metrics TLS needs the client port's certificate"
        );
    }
}

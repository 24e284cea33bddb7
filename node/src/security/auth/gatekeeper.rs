//! [`Gatekeeper`]: who sent a request (API key or JWT) and whether the policy
//! lets them do it. Its files (API keys, JWKS, policy) are [`WatchedFiles`]:
//! swapped in whole when they change and load; a file that does not load is
//! logged and the last good set kept.

use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use tokio_util::sync::CancellationToken;

use super::api_keys::ApiKeys;
use super::jwt::JwtVerifier;
use super::policy::Policy;
use super::requirement::Requirement;
use crate::config::security::AuthSettings;
use crate::security::watched_files::{FileSet, WatchedFiles};

/// The header an API key may also travel in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// What the auth files say, loaded together.
#[derive(Debug, Default)]
pub struct AuthFiles {
    keys: ApiKeys,
    jwt: Option<JwtVerifier>,
    policy: Policy,
}

/// Authenticates and authorizes requests when authentication is on.
#[derive(Debug)]
pub struct Gatekeeper {
    files: Arc<WatchedFiles<AuthSettings>>,
}

impl Gatekeeper {
    /// Loads the files now; fails when one does not load.
    pub fn load(settings: AuthSettings) -> Result<Arc<Self>, String> {
        Ok(Arc::new(Self {
            files: WatchedFiles::load(settings)?,
        }))
    }

    /// Loads the files again if they changed; answers whether anything did.
    pub fn reload_if_changed(&self) -> bool {
        self.files.reload_if_changed()
    }

    /// Polls the files until `shutdown`.
    pub async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        self.files.clone().watch(shutdown).await;
    }

    /// The principal of a request's credentials, or why there is none. The
    /// reason never quotes the credentials.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<String, String> {
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let key = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok());
        let Some(credential) = bearer.or(key) else {
            return Err(format!(
                "credentials are required: send `Authorization: Bearer <API key or JWT>` or `{API_KEY_HEADER}`"
            ));
        };
        let loaded = self.files.current();
        if credential.split('.').count() == 3
            && let Some(jwt) = &loaded.jwt
        {
            return jwt.verify(credential);
        }
        loaded
            .keys
            .principal(credential)
            .map(str::to_owned)
            .ok_or_else(|| "unknown API key".to_owned())
    }

    /// Whether `principal` meets `requirement`.
    pub fn authorize(&self, principal: &str, requirement: &Requirement) -> bool {
        let loaded = self.files.current();
        match requirement {
            Requirement::Public => true,
            Requirement::AnyRule => loaded.policy.grants_anything(principal),
            Requirement::Grant { action, resource } => {
                loaded.policy.allows(principal, *action, resource)
            }
        }
    }
}

impl FileSet for AuthSettings {
    type Loaded = AuthFiles;
    const WHAT: &'static str = "auth files";

    fn paths(&self) -> Vec<&Path> {
        optional_paths(self).into_iter().flatten().collect()
    }

    fn parse(&self, files: &[Vec<u8>]) -> Result<AuthFiles, String> {
        // `files` holds one entry per set path, in `optional_paths` order.
        let mut read = files.iter();
        let [keys, jwks, policy] = optional_paths(self).map(|path| {
            path.map(|path| {
                let bytes = read.next().expect("one file per set path");
                std::str::from_utf8(bytes)
                    .map(|text| (path, text))
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .transpose()
        });
        let keys = match keys? {
            Some((path, text)) => {
                ApiKeys::parse(text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => ApiKeys::default(),
        };
        let jwt = match jwks? {
            Some((path, text)) => Some(
                JwtVerifier::parse(text, self.jwt_audience.clone(), self.jwt_issuer.clone())
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let policy = match policy? {
            Some((path, text)) => {
                Policy::parse(text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => Policy::default(),
        };
        Ok(AuthFiles { keys, jwt, policy })
    }
}

fn optional_paths(settings: &AuthSettings) -> [Option<&Path>; 3] {
    [
        settings.api_keys_file.as_deref(),
        settings.jwks_file.as_deref(),
        settings.policy_file.as_deref(),
    ]
}

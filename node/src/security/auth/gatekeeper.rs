//! [`Gatekeeper`]: who sent a request (API key or JWT) and whether the policy
//! lets them do it. Its files (API keys, JWKS, policy) are polled like the
//! TLS certificate and swapped in whole when they change and load; a file
//! that does not load is logged and the last good set kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use tokio_util::sync::CancellationToken;

use super::api_keys::ApiKeys;
use super::jwt::JwtVerifier;
use super::policy::Policy;
use super::requirement::Requirement;
use crate::config::security::AuthSettings;
use crate::security::reloading_cert::RELOAD_INTERVAL;

/// The header an API key may also travel in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// What the files say, loaded together.
#[derive(Debug, Default)]
struct Loaded {
    keys: ApiKeys,
    jwt: Option<JwtVerifier>,
    policy: Policy,
}

/// Authenticates and authorizes requests when authentication is on.
#[derive(Debug)]
pub struct Gatekeeper {
    settings: AuthSettings,
    loaded: RwLock<Arc<Loaded>>,
    /// The files' bytes last loaded, to notice changes.
    bytes: Mutex<Vec<Option<Vec<u8>>>>,
}

impl Gatekeeper {
    /// Loads the files now; fails when one does not load.
    pub fn load(settings: AuthSettings) -> Result<Arc<Self>, String> {
        let bytes = read_all(&settings)?;
        let loaded = parse(&settings, &bytes)?;
        Ok(Arc::new(Self {
            settings,
            loaded: RwLock::new(Arc::new(loaded)),
            bytes: Mutex::new(bytes),
        }))
    }

    /// Loads the files again if they changed; answers whether anything did.
    pub fn reload_if_changed(&self) -> bool {
        let fresh = match read_all(&self.settings) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(%error, "cannot read the auth files; keeping the loaded ones");
                return false;
            }
        };
        let mut bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        if *bytes == fresh {
            return false;
        }
        match parse(&self.settings, &fresh) {
            Ok(loaded) => {
                *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
                *bytes = fresh;
                tracing::info!("auth files reloaded");
                true
            }
            Err(error) => {
                tracing::warn!(%error, "the changed auth files do not load; keeping the loaded ones");
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
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
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
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match requirement {
            Requirement::Public => true,
            Requirement::AnyRule => loaded.policy.grants_anything(principal),
            Requirement::Grant { action, resource } => {
                loaded.policy.allows(principal, *action, resource)
            }
        }
    }
}

fn paths(settings: &AuthSettings) -> [Option<&PathBuf>; 3] {
    [
        settings.api_keys_file.as_ref(),
        settings.jwks_file.as_ref(),
        settings.policy_file.as_ref(),
    ]
}

fn read_all(settings: &AuthSettings) -> Result<Vec<Option<Vec<u8>>>, String> {
    paths(settings)
        .into_iter()
        .map(|path| path.map(|p| read(p)).transpose())
        .collect()
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn parse(settings: &AuthSettings, bytes: &[Option<Vec<u8>>]) -> Result<Loaded, String> {
    let text = |i: usize| -> Result<Option<&str>, String> {
        bytes[i]
            .as_deref()
            .map(|b| std::str::from_utf8(b).map_err(|e| e.to_string()))
            .transpose()
    };
    let shown = |i: usize| paths(settings)[i].map_or_else(String::new, |p| p.display().to_string());
    let keys = match text(0)? {
        Some(text) => ApiKeys::parse(text).map_err(|e| format!("{}: {e}", shown(0)))?,
        None => ApiKeys::default(),
    };
    let jwt = match text(1)? {
        Some(text) => Some(
            JwtVerifier::parse(
                text,
                settings.jwt_audience.clone(),
                settings.jwt_issuer.clone(),
            )
            .map_err(|e| format!("{}: {e}", shown(1)))?,
        ),
        None => None,
    };
    let policy = match text(2)? {
        Some(text) => Policy::parse(text).map_err(|e| format!("{}: {e}", shown(2)))?,
        None => Policy::default(),
    };
    Ok(Loaded { keys, jwt, policy })
}

//! Push delivery settings of a subscription: where the broker POSTs each
//! message, how many requests it keeps in flight, and the signing secret.
//!
//! Validation is pure string work (no URL library, no I/O), so `apply` stays
//! deterministic. The node additionally parses the endpoint with its HTTP
//! client's URL parser before proposing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::MetadataError;

/// Fewest requests in flight a push subscription may allow.
pub const MIN_PUSH_MAX_OUTSTANDING: u32 = 1;
/// Most requests in flight a push subscription may allow.
pub const MAX_PUSH_MAX_OUTSTANDING: u32 = 1000;
/// Requests in flight when `maxOutstanding` is not given.
pub const DEFAULT_PUSH_MAX_OUTSTANDING: u32 = 100;
/// Longest signing secret, in bytes.
pub const MAX_PUSH_SECRET_BYTES: usize = 256;
/// Longest endpoint URL, in bytes.
pub const MAX_PUSH_ENDPOINT_BYTES: usize = 2048;

/// Where and how a push subscription delivers.
///
/// `Debug` never prints the secret: subscriptions end up in logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushConfig {
    /// An `http://` or `https://` URL; each message is one POST to it.
    pub endpoint: String,
    /// Most requests in flight at once for the subscription.
    pub max_outstanding: u32,
    /// Key of the HMAC-SHA256 signature of each request body, if requests are signed.
    pub secret: Option<String>,
}

impl PushConfig {
    /// Checks every bound; the error names the field.
    pub fn validate(&self) -> Result<(), MetadataError> {
        validate_endpoint(&self.endpoint)?;
        if !(MIN_PUSH_MAX_OUTSTANDING..=MAX_PUSH_MAX_OUTSTANDING).contains(&self.max_outstanding) {
            return Err(MetadataError::InvalidArgument {
                field: "pushConfig.maxOutstanding".into(),
                reason: format!(
                    "must be between {MIN_PUSH_MAX_OUTSTANDING} and {MAX_PUSH_MAX_OUTSTANDING}, got {}",
                    self.max_outstanding
                ),
            });
        }
        if let Some(secret) = &self.secret {
            if secret.is_empty() {
                return Err(MetadataError::InvalidArgument {
                    field: "pushConfig.secret".into(),
                    reason: "must not be empty; omit it to send unsigned requests".to_owned(),
                });
            }
            if secret.len() > MAX_PUSH_SECRET_BYTES {
                return Err(MetadataError::InvalidArgument {
                    field: "pushConfig.secret".into(),
                    reason: format!(
                        "must be at most {MAX_PUSH_SECRET_BYTES} bytes, got {}",
                        secret.len()
                    ),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushConfig")
            .field("endpoint", &self.endpoint)
            .field("max_outstanding", &self.max_outstanding)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Accepts `http://host[:port][/path][?query]` and the same with `https://`:
/// a non-empty host, no credentials (GET returns the endpoint, so a password in
/// it would leak; sign with `secret` instead), no fragment, no whitespace or
/// control characters.
fn validate_endpoint(endpoint: &str) -> Result<(), MetadataError> {
    let invalid = |reason: &str| MetadataError::InvalidArgument {
        field: "pushConfig.endpoint".into(),
        reason: format!("{reason}, got {endpoint:?}"),
    };
    if endpoint.len() > MAX_PUSH_ENDPOINT_BYTES {
        return Err(MetadataError::InvalidArgument {
            field: "pushConfig.endpoint".into(),
            reason: format!(
                "must be at most {MAX_PUSH_ENDPOINT_BYTES} bytes, got {}",
                endpoint.len()
            ),
        });
    }
    let rest =
        strip_scheme(endpoint).ok_or_else(|| invalid("must be an http:// or https:// URL"))?;
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid("must not contain whitespace or control characters"));
    }
    if endpoint.contains('#') {
        return Err(invalid("must not have a fragment"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            "must not contain credentials (they would be returned by GET); use secret to authenticate",
        ));
    }
    let (host, port) = split_port(authority);
    if host.is_empty() {
        return Err(invalid("must name a host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(invalid("has an invalid port"));
    }
    Ok(())
}

/// What follows `http://` or `https://` (scheme case-insensitive), if either.
fn strip_scheme(endpoint: &str) -> Option<&str> {
    ["http://", "https://"].into_iter().find_map(|scheme| {
        let head = endpoint.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &endpoint[scheme.len()..])
    })
}

/// Splits `host[:port]`, keeping a bracketed IPv6 literal (`[::1]:8080`) whole.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let after_host = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        0
    };
    match authority[after_host..].rfind(':') {
        Some(i) => {
            let at = after_host + i;
            (&authority[..at], Some(&authority[at + 1..]))
        }
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str) -> PushConfig {
        PushConfig {
            endpoint: endpoint.to_owned(),
            max_outstanding: DEFAULT_PUSH_MAX_OUTSTANDING,
            secret: None,
        }
    }

    #[test]
    fn accepts_http_and_https_urls() {
        for good in [
            "http://localhost",
            "http://127.0.0.1:8080/push",
            "https://hooks.example.com/a/b?token=x",
            "HTTPS://Example.com",
            "http://[::1]:9000/",
            "http://[::1]",
        ] {
            assert_eq!(config(good).validate(), Ok(()), "{good}");
        }
    }

    #[test]
    fn rejects_other_schemes_and_malformed_urls() {
        for bad in [
            "",
            "example.com/push",
            "ftp://example.com",
            "http://",
            "http:///path",
            "http://:8080",
            "http://host:99999",
            "http://host:port",
            "http://user:pass@host/",
            "http://host/a b",
            "http://host/#frag",
            "http://host\n",
        ] {
            let err = config(bad).validate().expect_err(bad);
            assert!(
                matches!(
                    err,
                    MetadataError::InvalidArgument { ref field, .. } if field == "pushConfig.endpoint"
                ),
                "{bad}: {err}"
            );
        }
        let long = format!("http://h/{}", "a".repeat(MAX_PUSH_ENDPOINT_BYTES));
        assert!(config(&long).validate().is_err());
    }

    #[test]
    fn max_outstanding_bounds_are_inclusive() {
        for (n, ok) in [(0, false), (1, true), (1000, true), (1001, false)] {
            let push = PushConfig {
                max_outstanding: n,
                ..config("http://h")
            };
            assert_eq!(push.validate().is_ok(), ok, "{n}");
        }
    }

    #[test]
    fn secret_must_be_1_to_256_bytes() {
        for (len, ok) in [(0, false), (1, true), (256, true), (257, false)] {
            let push = PushConfig {
                secret: Some("s".repeat(len)),
                ..config("http://h")
            };
            assert_eq!(push.validate().is_ok(), ok, "{len}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let push = PushConfig {
            secret: Some("hunter2".to_owned()),
            ..config("http://h")
        };
        let text = format!("{push:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}

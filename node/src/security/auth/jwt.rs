//! [`JwtVerifier`]: principals that authenticate with a JWT bearer token.
//!
//! The keys come from a JWKS file (RFC 7517, `{"keys": [...]}`): `oct` keys
//! verify HS256, `RSA` keys RS256, `EC` P-256 keys ES256. A key's `alg` names
//! its algorithm (else the key type's one above); a token whose header has a
//! `kid` is checked against that key only. `exp` is required, `nbf` checked
//! when present, with [`LEEWAY_SECONDS`] of clock skew; `aud` and `iss` are
//! checked when the broker is configured with them. The principal is `sub`.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

/// One verification key of the JWKS.
struct Key {
    id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Checks JWTs against the keys of a JWKS.
#[derive(Debug)]
pub struct JwtVerifier {
    keys: Vec<Key>,
    audience: Option<String>,
    issuer: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
}

impl JwtVerifier {
    /// Reads a JWKS file's JSON.
    pub fn parse(
        jwks: &str,
        audience: Option<String>,
        issuer: Option<String>,
    ) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
        let keys = set.keys.iter().map(key_of).collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            keys,
            audience,
            issuer,
        })
    }

    /// The principal (`sub`) of a valid `token`, or why it is not valid. The
    /// reason never quotes the token.
    pub fn verify(&self, token: &str) -> Result<String, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed JWT: {e}"))?;
        let candidates = self.keys.iter().filter(|k| {
            k.algorithm == header.alg
                && match (&header.kid, &k.id) {
                    (Some(wanted), Some(id)) => wanted == id,
                    (Some(_), None) | (None, _) => true,
                }
        });
        let mut last = format!("no key of the JWKS verifies {:?} tokens", header.alg);
        for key in candidates {
            let mut validation = Validation::new(key.algorithm);
            validation.leeway = LEEWAY_SECONDS;
            validation.validate_nbf = true;
            match &self.audience {
                Some(audience) => validation.set_audience(&[audience]),
                None => validation.validate_aud = false,
            }
            if let Some(issuer) = &self.issuer {
                validation.set_issuer(&[issuer]);
            }
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => return Ok(data.claims.sub),
                Err(e) => last = format!("JWT rejected: {e}"),
            }
        }
        Err(last)
    }
}

fn key_of(jwk: &Jwk) -> Result<Key, String> {
    let algorithm = match (jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::HS256), _) | (None, AlgorithmParameters::OctetKey(_)) => {
            Algorithm::HS256
        }
        (Some(KeyAlgorithm::RS256), _) | (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
        (Some(KeyAlgorithm::ES256), _) | (None, AlgorithmParameters::EllipticCurve(_)) => {
            Algorithm::ES256
        }
        (other, _) => {
            return Err(format!(
                "JWKS key {:?}: only HS256, RS256 and ES256 keys are accepted, not {other:?}",
                jwk.common.key_id
            ));
        }
    };
    let key =
        DecodingKey::from_jwk(jwk).map_err(|e| format!("JWKS key {:?}: {e}", jwk.common.key_id))?;
    Ok(Key {
        id: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

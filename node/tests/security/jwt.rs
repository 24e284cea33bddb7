//! JWT bearer tokens: HS256 and ES256 keys from a JWKS file; a token with a
//! wrong audience or issuer, past `exp`, before `nbf`, or signed by a key the
//! JWKS lacks is `401`.

use std::time::{SystemTime, UNIX_EPOCH};

use api::ErrorCode;
use api::types::PublishRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use testkit::client::text;
use testkit::server_process::DataDir;

use crate::process::{client_with_token, start};

const SECRET: &[u8] = b"a shared HS256 secret of at least 32 bytes";
const AUDIENCE: &str = "pubsubgo";
const ISSUER: &str = "https://issuer.test";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn token(key: &EncodingKey, alg: Algorithm, kid: &str, claims: serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, key).expect("sign")
}

#[test_log::test(tokio::test)]
async fn valid_jwts_pass_and_wrong_audience_issuer_or_times_are_401() {
    tracing::info!("arrange: a JWKS with an HS256 and an ES256 key; a policy for `service-a`");
    let dir = tempfile::tempdir().expect("dir");
    let ec = rcgen::KeyPair::generate().expect("P-256 key");
    let point = ec.public_key_raw();
    let (x, y) = (&point[1..33], &point[33..65]);
    let jwks = json!({ "keys": [
        { "kty": "oct", "kid": "hs", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(SECRET) },
        { "kty": "EC", "kid": "es", "alg": "ES256", "crv": "P-256",
          "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y) },
    ]});
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).expect("write jwks");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "principals:\n  service-a:\n    - { resources: [\"topics/*\"], actions: [publish, manage] }\n",
    )
    .expect("write policy");
    let data = DataDir::new("auth-jwt");
    let server = start(
        &data,
        &[
            "--auth-enabled",
            "true",
            "--auth-jwks-file",
            &jwks_file.to_string_lossy(),
            "--auth-jwt-audience",
            AUDIENCE,
            "--auth-jwt-issuer",
            ISSUER,
            "--auth-policy-file",
            &policy.to_string_lossy(),
        ],
    );
    let base = format!("http://{}", server.client_addr());
    let hs = EncodingKey::from_secret(SECRET).expect("HS256 key");
    let es = EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).expect("ES256 key");
    let claims = |changes: serde_json::Value| {
        let mut claims =
            json!({ "sub": "service-a", "aud": AUDIENCE, "iss": ISSUER, "exp": now() + 600 });
        for (key, value) in changes.as_object().expect("object") {
            claims[key] = value.clone();
        }
        claims
    };

    tracing::info!("act and assert: valid HS256 and ES256 tokens are accepted");
    for valid in [
        token(&hs, Algorithm::HS256, "hs", claims(json!({}))),
        token(&es, Algorithm::ES256, "es", claims(json!({}))),
    ] {
        let client = client_with_token(&base, Some(&valid));
        client
            .create_topic(
                &format!("t-{}", &valid[valid.len() - 8..].replace(['-', '_'], "x")),
                &Default::default(),
            )
            .await
            .expect("a valid token is accepted");
    }

    tracing::info!("act and assert: each flawed token is 401");
    let other =
        EncodingKey::from_secret(b"another secret that the JWKS does not hold").expect("HS256 key");
    for (flaw, bad) in [
        (
            "wrong audience",
            token(
                &hs,
                Algorithm::HS256,
                "hs",
                claims(json!({ "aud": "someone-else" })),
            ),
        ),
        (
            "wrong issuer",
            token(
                &hs,
                Algorithm::HS256,
                "hs",
                claims(json!({ "iss": "https://evil.test" })),
            ),
        ),
        (
            "past exp",
            token(
                &hs,
                Algorithm::HS256,
                "hs",
                claims(json!({ "exp": now() - 3600 })),
            ),
        ),
        (
            "future nbf",
            token(
                &hs,
                Algorithm::HS256,
                "hs",
                claims(json!({ "nbf": now() + 3600 })),
            ),
        ),
        (
            "unknown key",
            token(&other, Algorithm::HS256, "hs", claims(json!({}))),
        ),
    ] {
        let client = client_with_token(&base, Some(&bad));
        let error = client
            .publish(
                "anything",
                &PublishRequest {
                    messages: vec![text("x")],
                },
                &Default::default(),
            )
            .await
            .expect_err(flaw);
        assert_eq!(
            error.problem().map(|p| p.code),
            Some(ErrorCode::Unauthenticated),
            "{flaw}: {error}"
        );
    }
}

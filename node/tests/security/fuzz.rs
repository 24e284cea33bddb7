//! Fuzzing on stable Rust (see `api/tests/fuzz.rs` for the client contract's
//! parsers): the server's own parsers of untrusted or operator-written input
//! (bearer JWTs, the API keys and policy files, the config file) get
//! arbitrary and mutated input and must answer without panicking; a JWT
//! with any one character changed never verifies. Bounded by proptest's case
//! count (`PROPTEST_CASES` raises it for a longer run).

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use node::config::{Args, Config};
use node::security::auth::api_keys::ApiKeys;
use node::security::auth::jwt::JwtVerifier;
use node::security::auth::policy::Policy;
use proptest::prelude::*;
use serde_json::json;

const SECRET: &[u8] = b"a shared HS256 secret of at least 32 bytes";

fn verifier() -> JwtVerifier {
    let jwks = json!({ "keys": [
        { "kty": "oct", "kid": "hs", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(SECRET) },
    ]});
    JwtVerifier::parse(&jwks.to_string(), Some("pubsubgo".to_owned()), None).expect("JWKS")
}

fn valid_token() -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("hs".to_owned());
    let claims = json!({ "sub": "service-a", "aud": "pubsubgo", "exp": 4_000_000_000u64 });
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(SECRET).expect("key"),
    )
    .expect("sign")
}

/// YAML-ish text with the keys the server's files know.
fn yaml_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        Just(": ".to_owned()),
        Just("- ".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just(", ".to_owned()),
        Just("keys".to_owned()),
        Just("principal".to_owned()),
        Just("sha256".to_owned()),
        Just("principals".to_owned()),
        Just("resources".to_owned()),
        Just("actions".to_owned()),
        Just("publish".to_owned()),
        Just("server".to_owned()),
        Just("port".to_owned()),
        Just("storage".to_owned()),
        Just("redis".to_owned()),
        Just("cluster".to_owned()),
        Just("peers".to_owned()),
        Just("tls".to_owned()),
        Just("auth".to_owned()),
        Just("limits".to_owned()),
        "[a-z0-9*?/=_.-]{0,16}",
        "-?[0-9]{1,12}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #[test]
    fn bearer_tokens_never_panic_and_a_changed_jwt_never_verifies(
        shaped in "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,40}",
        any_text in ".{0,120}",
        at in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.-]",
    ) {
        let verifier = verifier();
        let _ = verifier.verify(&shaped);
        let _ = verifier.verify(&any_text);
        let valid = valid_token();
        prop_assert_eq!(verifier.verify(&valid), Ok("service-a".to_owned()));
        let index = at.index(valid.len());
        let mut changed = valid.clone();
        changed.replace_range(index..=index, &replacement);
        if changed != valid {
            // Base64url's last character can carry unused bits: a change there
            // may decode to the same bytes, which is the same token.
            let same_bytes = changed
                .split('.')
                .zip(valid.split('.'))
                .all(|(a, b)| URL_SAFE_NO_PAD.decode(a).ok() == URL_SAFE_NO_PAD.decode(b).ok());
            prop_assert!(same_bytes || verifier.verify(&changed).is_err(), "{changed}");
        }
    }

    #[test]
    fn the_auth_files_never_panic(text in yaml_like(), bytes in ".{0,200}") {
        for input in [&text, &bytes] {
            let _ = ApiKeys::parse(input);
            let _ = Policy::parse(input);
            let _ = JwtVerifier::parse(input, None, None);
        }
    }

    #[test]
    fn the_config_file_never_panics(text in yaml_like()) {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write");
        let _ = Config::resolve(Args {
            config: Some(file.path().to_path_buf()),
            ..Args::default()
        });
    }
}

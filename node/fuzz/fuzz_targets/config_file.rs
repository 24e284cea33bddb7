//! The files an operator writes: the config file (`--config`, YAML read by
//! `Config::resolve`) and the security files (API keys, policy, JWKS), all
//! read again on change by a running node. Any content is answered without a
//! panic: a start-up error or a kept previous set, never a crash.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use node::config::{Args, Config};
use node::security::auth::api_keys::ApiKeys;
use node::security::auth::jwt::JwtVerifier;
use node::security::auth::policy::Policy;

/// One config file per fuzzing process, overwritten with each input:
/// `Config::resolve` reads the file named by `--config`.
fn config_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("pubsubgo-fuzz-config-{}.yaml", std::process::id()))
    })
}

fuzz_target!(|input: &[u8]| {
    let path = config_path();
    std::fs::write(path, input).expect("the fuzzer's config file is writable");
    let _ = Config::resolve(Args {
        config: Some(path.clone()),
        ..Args::default()
    });
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = ApiKeys::parse(text);
        let _ = Policy::parse(text);
        let _ = JwtVerifier::parse(text, Some("pubsubgo".to_owned()), None);
    }
});

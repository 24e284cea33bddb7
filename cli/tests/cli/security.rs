//! `--ca-file` and `--token` against a broker serving TLS with
//! authentication on: the CLI publishes and pulls over HTTPS; without the CA
//! file it cannot connect, without the token it is refused with 401.

use node::config::security::{AuthSettings, CertFiles, SecuritySettings};
use node::security::auth::api_keys::hash_hex;
use node::server::ClientSecurity;
use testkit::certs::TestCa;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::support::cli;

const KEY: &str = "cli-test-key-5d0b8e21c7";

#[test_log::test(tokio::test)]
async fn the_cli_publishes_and_pulls_over_tls_with_a_ca_file_and_a_token() {
    info!("arrange: a broker with TLS (a test CA) and an API key allowed everything");
    let ca = TestCa::new("cli CA");
    let pair = ca.server_cert("server");
    let keys = ca.dir().join("keys.yaml");
    std::fs::write(
        &keys,
        format!("keys:\n  - principal: cli\n    sha256: {}\n", hash_hex(KEY)),
    )
    .expect("keys");
    let policy = ca.dir().join("policy.yaml");
    std::fs::write(
        &policy,
        "principals:\n  cli:\n    - { resources: [\"*\"], actions: [publish, consume, manage] }\n",
    )
    .expect("policy");
    let settings = SecuritySettings {
        tls: Some(CertFiles {
            cert: pair.cert.clone(),
            key: pair.key.clone(),
        }),
        auth: Some(AuthSettings {
            api_keys_file: Some(keys),
            policy_file: Some(policy),
            ..AuthSettings::default()
        }),
        ..SecuritySettings::default()
    };
    let shutdown = CancellationToken::new();
    let (security, _watchers) = ClientSecurity::start(&settings, &shutdown).expect("security");
    let node = node::TestNode::start_with(security)
        .await
        .expect("broker starts");
    assert!(node.url.starts_with("https://"), "{}", node.url);
    let ca_file = ca.ca_file.to_string_lossy().into_owned();
    let secure = |args: &[&'static str]| -> Vec<String> {
        ["--ca-file", ca_file.as_str(), "--token", KEY]
            .iter()
            .chain(args)
            .map(|a| (*a).to_owned())
            .collect()
    };
    let run = |args: Vec<String>| {
        let url = node.url.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(&url, &args).await
        }
    };

    info!("act: create, publish and pull with --ca-file and --token");
    run(secure(&["topics", "create", "tls-orders"]))
        .await
        .assert_ok();
    run(secure(&[
        "subscriptions",
        "create",
        "tls-billing",
        "--topic",
        "tls-orders",
    ]))
    .await
    .assert_ok();
    run(secure(&["publish", "tls-orders", "--data", "sealed"]))
        .await
        .assert_ok();
    let pulled = run(secure(&[
        "pull",
        "tls-billing",
        "--max",
        "10",
        "--wait",
        "5",
        "--ack",
    ]))
    .await
    .assert_ok();

    info!("assert: the message came back; no CA file or no token fails");
    assert!(pulled.stdout.contains("sealed"), "{pulled:#?}");
    let untrusted = cli(&node.url, &["--token", KEY, "topics", "list"]).await;
    assert_eq!(untrusted.code, Some(1), "{untrusted:#?}");
    let anonymous = cli(&node.url, &["--ca-file", &ca_file, "topics", "list"]).await;
    assert_eq!(anonymous.code, Some(1), "{anonymous:#?}");
    assert!(
        anonymous.stderr.contains("UNAUTHENTICATED")
            || anonymous.stderr.contains("Unauthenticated"),
        "{anonymous:#?}"
    );
    shutdown.cancel();
    node.stop().await;
}

//! Rate limits: one principal over its limit gets `429 RESOURCE_EXHAUSTED`
//! with `Retry-After` while another principal's requests still pass; a client
//! address over its limit likewise, probes never.

use api::ErrorCode;
use node::security::auth::api_keys::hash_hex;
use testkit::server_process::DataDir;

use crate::process::{client_with_token, start};

#[test_log::test(tokio::test)]
async fn a_principal_over_its_limit_gets_429_while_another_is_served() {
    tracing::info!("arrange: two principals, each limited to 5 requests per second");
    let dir = tempfile::tempdir().expect("dir");
    let keys = dir.path().join("keys.yaml");
    std::fs::write(
        &keys,
        format!(
            "keys:\n  - principal: busy\n    sha256: {}\n  - principal: quiet\n    sha256: {}\n",
            hash_hex("busy-key-0001"),
            hash_hex("quiet-key-0002")
        ),
    )
    .expect("keys");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "principals:\n  busy: [ { resources: [\"*\"], actions: [manage] } ]\n  quiet: [ { resources: [\"*\"], actions: [manage] } ]\n",
    )
    .expect("policy");
    let data = DataDir::new("rate-principal");
    let server = start(
        &data,
        &[
            "--auth-enabled",
            "true",
            "--auth-api-keys-file",
            &keys.to_string_lossy(),
            "--auth-policy-file",
            &policy.to_string_lossy(),
            "--rate-limit-principal-per-second",
            "5",
        ],
    );
    let base = format!("http://{}", server.client_addr());
    let busy = client_with_token(&base, Some("busy-key-0001"));
    let quiet = client_with_token(&base, Some("quiet-key-0002"));

    tracing::info!("act: the busy principal sends 50 requests at once");
    let mut refused = 0;
    for _ in 0..50 {
        match busy.list_topics(None, None).await {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(
                    error.problem().map(|p| p.code),
                    Some(ErrorCode::ResourceExhausted),
                    "{error}"
                );
                refused += 1;
            }
        }
    }

    tracing::info!("assert: most were refused; the quiet principal is served at once");
    assert!(refused >= 30, "only {refused} of 50 refused");
    quiet
        .list_topics(None, None)
        .await
        .expect("another principal has its own bucket");
    let raw = reqwest::Client::new()
        .get(format!("{base}/v1/topics"))
        .bearer_auth("busy-key-0001")
        .send()
        .await
        .expect("answer");
    if raw.status() == 429 {
        let retry: u64 = raw.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(retry >= 1, "Retry-After {retry}");
    }
}

#[test_log::test(tokio::test)]
async fn a_client_address_over_its_limit_gets_429_and_probes_still_answer() {
    tracing::info!("arrange: no authentication, 3 requests per second per address");
    let data = DataDir::new("rate-address");
    let server = start(&data, &["--rate-limit-address-per-second", "3"]);
    let base = format!("http://{}", server.client_addr());
    let client = client_with_token(&base, None);

    tracing::info!("act: 30 requests at once from this address");
    let mut refused = 0;
    for _ in 0..30 {
        if let Err(error) = client.list_topics(None, None).await {
            assert_eq!(
                error.problem().map(|p| p.code),
                Some(ErrorCode::ResourceExhausted),
                "{error}"
            );
            refused += 1;
        }
    }

    tracing::info!("assert: refused beyond the burst; /healthz is never limited");
    assert!(refused >= 20, "only {refused} of 30 refused");
    for _ in 0..10 {
        client.health().await.expect("probes are not rate limited");
    }
}

//! API keys and the policy, as the acceptance list states them: no
//! credentials is `401`; a key allowed to publish only to `orders-*` gets
//! `403` on `payments` and on `cluster:rebalance`; WebSocket streams are
//! checked at the upgrade; every denial and admin action is an audit line;
//! a changed policy file applies without a restart.

use std::path::PathBuf;

use api::ErrorCode;
use api::types::PublishRequest;
use node::security::auth::api_keys::hash_hex;
use testkit::client::{subscription, text};
use testkit::server_process::{DataDir, Server};
use testkit::wait_for;

use crate::process::{WAIT, client_with_token, start};

const OPS_KEY: &str = "ops-key-0f3c9a7e51d24b8c9e6a";
const ORDERS_KEY: &str = "orders-key-7b1d44c2a9e0f3a1";

const POLICY: &str = "principals:
  ops:
    - resources: [\"*\"]
      actions: [publish, consume, manage, admin]
  orders:
    - resources: [\"topics/orders-*\"]
      actions: [publish]
";

/// A server with authentication on, its files in `dir`; answers it and its URL.
fn secured(dir: &tempfile::TempDir, data: &DataDir) -> (Server, String, PathBuf) {
    let keys = dir.path().join("api-keys.yaml");
    std::fs::write(
        &keys,
        format!(
            "keys:\n  - principal: ops\n    sha256: {}\n  - principal: orders\n    sha256: {}\n",
            hash_hex(OPS_KEY),
            hash_hex(ORDERS_KEY)
        ),
    )
    .expect("write keys");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).expect("write policy");
    let server = start(
        data,
        &[
            "--auth-enabled",
            "true",
            "--auth-api-keys-file",
            &keys.to_string_lossy(),
            "--auth-policy-file",
            &policy.to_string_lossy(),
        ],
    );
    let base = format!("http://{}", server.client_addr());
    (server, base, policy)
}

fn code(error: &api::ClientError) -> Option<ErrorCode> {
    error.problem().map(|p| p.code)
}

fn one(data: &str) -> PublishRequest {
    PublishRequest {
        messages: vec![text(data)],
    }
}

#[test_log::test(tokio::test)]
async fn without_credentials_every_call_is_401_while_the_probes_still_answer() {
    tracing::info!("arrange: a server with authentication on");
    let dir = tempfile::tempdir().expect("dir");
    let data = DataDir::new("auth-401");
    let (_server, base, _) = secured(&dir, &data);
    let anonymous = client_with_token(&base, None);
    let stranger = client_with_token(&base, Some("not-a-key"));

    tracing::info!("act and assert: calls without or with unknown credentials");
    anonymous
        .health()
        .await
        .expect("/healthz needs no credentials");
    for error in [
        anonymous.list_topics(None, None).await.expect_err("list"),
        anonymous
            .publish("orders-eu", &one("x"), &Default::default())
            .await
            .expect_err("publish"),
        anonymous.rebalance(true).await.expect_err("rebalance"),
        stranger
            .list_topics(None, None)
            .await
            .expect_err("unknown key"),
    ] {
        assert_eq!(code(&error), Some(ErrorCode::Unauthenticated), "{error}");
    }
    let upgrade = anonymous.stream("orders-sub").await.expect_err("stream");
    assert!(upgrade.to_string().contains("401"), "{upgrade}");
}

#[test_log::test(tokio::test)]
async fn a_key_allowed_to_publish_to_orders_topics_gets_403_elsewhere_and_denials_are_audited() {
    tracing::info!("arrange: topics made by the ops key; the orders key may publish to orders-*");
    let dir = tempfile::tempdir().expect("dir");
    let data = DataDir::new("auth-403");
    let (server, base, policy) = secured(&dir, &data);
    let ops = client_with_token(&base, Some(OPS_KEY));
    let orders = client_with_token(&base, Some(ORDERS_KEY));
    for topic in ["orders-eu", "payments"] {
        ops.create_topic(topic, &Default::default())
            .await
            .expect("ops creates topics");
    }
    ops.create_subscription("payments-sub", &subscription("payments"))
        .await
        .expect("ops creates a subscription");

    tracing::info!("act: the orders key publishes to its topic, then to payments");
    orders
        .publish("orders-eu", &one("allowed"), &Default::default())
        .await
        .expect("publish to orders-eu");
    let denied = orders
        .publish("payments", &one("denied"), &Default::default())
        .await
        .expect_err("publish to payments");

    tracing::info!("assert: 403, and an audit line naming principal, action, resource, outcome");
    assert_eq!(code(&denied), Some(ErrorCode::PermissionDenied), "{denied}");
    let audit = server.wait_for_log("audit");
    assert_eq!(audit["principal"], "orders");
    assert_eq!(audit["action"], "publish");
    assert_eq!(audit["resource"], "topics/payments");
    assert_eq!(audit["outcome"], "denied");
    assert!(
        !audit.to_string().contains(ORDERS_KEY),
        "the key is never logged"
    );

    tracing::info!("assert: admin, manage and consume are refused too, streams at the upgrade");
    let rebalance = orders.rebalance(false).await.expect_err("rebalance");
    assert_eq!(
        code(&rebalance),
        Some(ErrorCode::PermissionDenied),
        "{rebalance}"
    );
    let create = orders
        .create_topic("orders-new", &Default::default())
        .await
        .expect_err("create");
    assert_eq!(code(&create), Some(ErrorCode::PermissionDenied), "{create}");
    let stream = orders.stream("payments-sub").await.expect_err("stream");
    assert!(stream.to_string().contains("403"), "{stream}");
    ops.rebalance(true).await.expect("ops may rebalance");
    let admin = loop {
        let line = server.wait_for_log("audit");
        if line["outcome"] == "allowed" {
            break line;
        }
    };
    assert_eq!(admin["principal"], "ops");
    assert_eq!(admin["action"], "admin");

    tracing::info!("act: the policy file now lets orders publish to payments");
    std::fs::write(
        &policy,
        POLICY.replace(
            "[\"topics/orders-*\"]",
            "[\"topics/orders-*\", \"topics/payments\"]",
        ),
    )
    .expect("rewrite policy");
    wait_for("the new policy applies", WAIT, || async {
        orders
            .publish("payments", &one("now allowed"), &Default::default())
            .await
            .ok()
    })
    .await
    .expect("publish to payments after the policy changed");
}

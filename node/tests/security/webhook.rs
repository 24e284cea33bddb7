//! Push to an `https://` endpoint, signed per Standard Webhooks: the test's
//! endpoint (TLS with a test CA the broker trusts through `SSL_CERT_FILE`)
//! verifies each request as docs/security.md tells receivers to, and refuses
//! the same request replayed, or received too late.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::types::{CreateSubscriptionRequest, PublishRequest, PushConfig};
use api::webhook::{self, DEFAULT_TOLERANCE, WebhookError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use node::config::security::CertFiles;
use node::security::reloading_cert::ReloadingCert;
use node::security::tls_listener::TlsListener;
use node::telemetry::connections::CountingListener;
use testkit::certs::TestCa;
use testkit::client::{subscription, text};
use testkit::server_process::DataDir;
use testkit::wait_for;

use crate::process::{WAIT, client_with_token, start_env};

/// The subscription's secret in Standard Webhooks' format.
const SECRET: &str = "whsec_c2lnbmluZy1zZWNyZXQtZm9yLXRoZS10ZXN0";

/// One request as the endpoint received it.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

/// A receiver's check: fresh, signed by a secret it holds, and an id not seen.
struct Verifier {
    keys: Vec<Vec<u8>>,
    seen: HashSet<String>,
}

impl Verifier {
    fn check(&mut self, request: &Received, now: u64) -> Result<(), String> {
        webhook::verify(
            &self.keys,
            &request.id,
            &request.timestamp,
            &request.signature,
            &request.body,
            now,
            DEFAULT_TOLERANCE,
        )
        .map_err(|e| e.to_string())?;
        if !self.seen.insert(request.id.clone()) {
            return Err(format!("replayed: {} was seen already", request.id));
        }
        Ok(())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

async fn receive(
    State(log): State<Arc<Mutex<Vec<Received>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    log.lock().expect("log").push(Received {
        id: header(webhook::ID_HEADER),
        timestamp: header(webhook::TIMESTAMP_HEADER),
        signature: header(webhook::SIGNATURE_HEADER),
        body,
    });
    "ok"
}

#[test_log::test(tokio::test)]
async fn an_https_endpoint_gets_signed_pushes_and_its_verifier_refuses_a_replay() {
    tracing::info!("arrange: an HTTPS endpoint with a test CA's certificate");
    let ca = TestCa::new("endpoint CA");
    let pair = ca.server_cert("endpoint");
    let cert = ReloadingCert::load(CertFiles {
        cert: pair.cert.clone(),
        key: pair.key.clone(),
    })
    .expect("endpoint certificate");
    let config = node::security::server_config(cert, node::security::HTTP_1).expect("TLS config");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}/push", tcp.local_addr().expect("addr"));
    let counted = CountingListener::new(tcp, Default::default());
    let listener = TlsListener::new(counted, config).expect("TLS listener");
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let app = Router::new()
        .route("/push", post(receive))
        .with_state(log.clone());
    let endpoint = tokio::spawn(async move { axum::serve(listener, app).await });

    tracing::info!("arrange: a broker that trusts the CA (SSL_CERT_FILE) and a push subscription");
    let data = DataDir::new("webhook");
    let trust = [("SSL_CERT_FILE", ca.ca_file.to_string_lossy().into_owned())];
    let server = start_env(&data, &[], &trust);
    let client = client_with_token(&format!("http://{}", server.client_addr()), None);
    client
        .create_topic("hooks", &Default::default())
        .await
        .expect("topic");
    let request = CreateSubscriptionRequest {
        push_config: Some(PushConfig {
            endpoint: url,
            secret: Some(SECRET.to_owned()),
            ..Default::default()
        }),
        ..subscription("hooks")
    };
    client
        .create_subscription("hooks-push", &request)
        .await
        .expect("push subscription");

    tracing::info!("act: publish one message; the endpoint receives it");
    client
        .publish(
            "hooks",
            &PublishRequest {
                messages: vec![text("signed")],
            },
            &Default::default(),
        )
        .await
        .expect("publish");
    let first = wait_for("a push request arrives", WAIT, || async {
        log.lock().expect("log").first().cloned()
    })
    .await
    .expect("pushed");

    tracing::info!("assert: verified once; the same request again, late, or altered is refused");
    let mut verifier = Verifier {
        keys: webhook::keys(SECRET),
        seen: HashSet::new(),
    };
    assert!(first.id.starts_with("hooks-push/"), "{first:?}");
    verifier.check(&first, now()).expect("the push verifies");
    let replay = verifier
        .check(&first, now())
        .expect_err("a replay is refused");
    assert!(replay.contains("replayed"), "{replay}");
    let mut fresh = Verifier {
        keys: webhook::keys(SECRET),
        seen: HashSet::new(),
    };
    let late = now() + Duration::from_secs(600).as_secs();
    assert_eq!(
        fresh.check(&first, late),
        Err(WebhookError::OutsideTolerance(
            first.timestamp.parse::<i64>().expect("ts") - late as i64
        )
        .to_string())
    );
    let altered = Received {
        body: Bytes::from_static(b"{\"message\":{}}"),
        ..first.clone()
    };
    assert_eq!(
        fresh.check(&altered, now()),
        Err(WebhookError::NoMatch.to_string())
    );
    endpoint.abort();
}

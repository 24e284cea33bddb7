//! The gRPC port with the client port's security: API keys and the policy
//! (`UNAUTHENTICATED` without credentials, `PERMISSION_DENIED` outside the
//! caller's rules, on unary calls and on a StreamingPull alike), the rate
//! limit per address (`RESOURCE_EXHAUSTED` with a retry delay), and TLS with
//! the client port's certificate, trusted through a CA.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::publisher_client::PublisherClient;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::subscriber_client::SubscriberClient;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    GetTopicRequest, ListTopicsRequest, PublishRequest, PubsubMessage, StreamingPullRequest,
    Subscription, Topic,
};
use node::config::security::{AuthSettings, CertFiles, RateLimitSettings, SecuritySettings};
use node::security::ClientSecurity;
use node::security::auth::api_keys::hash_hex;
use testkit::certs::TestCa;
use testkit::wait_for;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};

use crate::google_server::{GoogleServer, subscription_path, topic_path};

pub const OPS_KEY: &str = "ops-key-0f3c9a7e51d24b8c9e6a";
pub const ORDERS_KEY: &str = "orders-key-7b1d44c2a9e0f3a1";

const WAIT: Duration = Duration::from_secs(10);

const POLICY: &str = "principals:
  ops:
    - resources: [\"*\"]
      actions: [publish, consume, manage, admin]
  orders:
    - resources: [\"topics/orders-*\"]
      actions: [publish]
";

/// A client interceptor sending its key as `authorization: Bearer` metadata.
#[derive(Clone, Copy)]
struct Bearer(&'static str);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value = MetadataValue::try_from(format!("Bearer {}", self.0)).expect("ascii");
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

fn publisher(
    server: &GoogleServer,
    key: &'static str,
) -> PublisherClient<InterceptedService<Channel, Bearer>> {
    PublisherClient::with_interceptor(server.channel.clone(), Bearer(key))
}

fn plain(address: std::net::SocketAddr) -> Endpoint {
    Endpoint::from_shared(format!("http://{address}")).expect("url")
}

/// Security as the server binary starts it from `settings`.
fn start_security(settings: &SecuritySettings) -> ClientSecurity {
    let (security, _watchers) =
        ClientSecurity::start(settings, &CancellationToken::new()).expect("security");
    security
}

/// The API keys file (the ops and orders keys) and [`POLICY`], written into
/// `dir`; answers their paths.
pub fn write_auth_files(dir: &tempfile::TempDir) -> (PathBuf, PathBuf) {
    let keys = dir.path().join("api-keys.yaml");
    let entry = |principal: &str, key: &str| {
        format!(
            "  - principal: {principal}\n    sha256: {}\n",
            hash_hex(key)
        )
    };
    let text = format!(
        "keys:\n{}{}",
        entry("ops", OPS_KEY),
        entry("orders", ORDERS_KEY)
    );
    std::fs::write(&keys, text).expect("write keys");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).expect("write policy");
    (keys, policy)
}

/// Authentication with the files of [`write_auth_files`].
fn auth_settings(dir: &tempfile::TempDir) -> SecuritySettings {
    let (keys, policy) = write_auth_files(dir);
    SecuritySettings {
        auth: Some(AuthSettings {
            api_keys_file: Some(keys),
            policy_file: Some(policy),
            ..AuthSettings::default()
        }),
        ..SecuritySettings::default()
    }
}

fn publish_one(topic: &str) -> PublishRequest {
    PublishRequest {
        topic: topic_path(topic),
        messages: vec![PubsubMessage {
            data: b"x".to_vec(),
            ..PubsubMessage::default()
        }],
    }
}

#[test_log::test(tokio::test)]
async fn credentials_and_the_policy_decide_each_rpc() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = GoogleServer::secured(start_security(&auth_settings(&dir)), plain).await;

    tracing::info!("act: calls without credentials; assert: UNAUTHENTICATED");
    let anonymous = server
        .publisher
        .list_topics(ListTopicsRequest {
            project: "projects/p".to_owned(),
            ..ListTopicsRequest::default()
        })
        .await
        .expect_err("no credentials");
    assert_eq!(anonymous.code(), Code::Unauthenticated, "{anonymous:?}");
    let mut wrong = publisher(&server, "not-a-key");
    let unknown = wrong
        .publish(publish_one("orders-1"))
        .await
        .expect_err("unknown key");
    assert_eq!(unknown.code(), Code::Unauthenticated, "{unknown:?}");

    tracing::info!("arrange: ops creates the topics; orders may publish to orders-* only");
    let mut ops = publisher(&server, OPS_KEY);
    for name in ["orders-1", "payments"] {
        ops.create_topic(Topic {
            name: topic_path(name),
            ..Topic::default()
        })
        .await
        .expect("ops manages every topic");
    }
    let mut orders = publisher(&server, ORDERS_KEY);
    orders
        .publish(publish_one("orders-1"))
        .await
        .expect("orders publishes to orders-1");

    tracing::info!("act: orders outside its rules; assert: PERMISSION_DENIED");
    let denied = [
        orders.publish(publish_one("payments")).await.map(|_| ()),
        orders
            .create_topic(Topic {
                name: topic_path("orders-2"),
                ..Topic::default()
            })
            .await
            .map(|_| ()),
        orders
            .get_topic(GetTopicRequest {
                topic: topic_path("payments"),
            })
            .await
            .map(|_| ()),
    ];
    for result in denied {
        let status = result.expect_err("denied");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    let mut consumer =
        SubscriberClient::with_interceptor(server.channel.clone(), Bearer(ORDERS_KEY));
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(StreamingPullRequest {
        subscription: subscription_path("orders-1-sub"),
        stream_ack_deadline_seconds: 10,
        ..StreamingPullRequest::default()
    })
    .await
    .expect("first request");
    let stream = consumer
        .streaming_pull(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map(|_| ());
    let status = stream.expect_err("orders may not consume");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}

#[test_log::test(tokio::test)]
async fn a_caller_over_its_address_rate_is_told_to_retry_later() {
    let settings = SecuritySettings {
        rate_limits: RateLimitSettings {
            address_per_second: NonZeroU32::new(1),
            ..RateLimitSettings::default()
        },
        ..SecuritySettings::default()
    };
    let mut server = GoogleServer::secured(start_security(&settings), plain).await;
    tracing::info!("act: calls faster than one per second");
    let mut refused = None;
    for _ in 0..5 {
        let listed = server
            .publisher
            .list_topics(ListTopicsRequest {
                project: "projects/p".to_owned(),
                ..ListTopicsRequest::default()
            })
            .await;
        if let Err(status) = listed {
            refused = Some(status);
            break;
        }
    }
    tracing::info!("assert: RESOURCE_EXHAUSTED with a retry delay");
    let status = refused.expect("a call over the rate is refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let delay = tonic_types::StatusExt::get_details_retry_info(&status)
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo");
    assert!(delay >= Duration::from_secs(1), "{delay:?}");
}

#[test_log::test(tokio::test)]
async fn a_client_trusting_the_ca_connects_over_tls() {
    api::tls::install_default_provider();
    let ca = TestCa::new("gRPC CA");
    let pair = ca.server_cert("grpc");
    let settings = SecuritySettings {
        tls: Some(CertFiles {
            cert: pair.cert.clone(),
            key: pair.key.clone(),
        }),
        ..SecuritySettings::default()
    };
    let pem = std::fs::read(&ca.ca_file).expect("CA file");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pem))
        .domain_name("localhost");
    let endpoint = move |address: std::net::SocketAddr| {
        Endpoint::from_shared(format!("https://{address}"))
            .expect("url")
            .tls_config(tls)
            .expect("TLS config")
    };
    tracing::info!("act: admin and publish over TLS");
    let mut server = GoogleServer::secured(start_security(&settings), endpoint).await;
    server.create_topic("over-tls").await;
    let ids = server.publish("over-tls", &["a"]).await;
    assert_eq!(ids.len(), 1);

    tracing::info!("assert: a plaintext client gets no answer from the TLS port");
    let address = server.address;
    let plaintext = async {
        let channel = plain(address).connect().await.ok()?;
        let got = PublisherClient::new(channel)
            .get_topic(GetTopicRequest {
                topic: topic_path("over-tls"),
            })
            .await;
        Some(got.is_ok())
    };
    // A client left hanging counts as not answered, as one refused does.
    let answered = tokio::time::timeout(Duration::from_secs(15), plaintext)
        .await
        .ok()
        .flatten()
        .unwrap_or(false);
    assert!(!answered, "the TLS port answered a plaintext call");
}

type AuthedSubscriber = SubscriberClient<InterceptedService<Channel, Bearer>>;

/// Opens a StreamingPull on `sub`; answers the request sender (the stream
/// stays open while it lives) or the refusal.
async fn open_stream(
    client: &mut AuthedSubscriber,
    sub: &str,
) -> Result<tokio::sync::mpsc::Sender<StreamingPullRequest>, Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(StreamingPullRequest {
        subscription: subscription_path(sub),
        stream_ack_deadline_seconds: 10,
        ..StreamingPullRequest::default()
    })
    .await
    .expect("first request");
    let responses = client
        .streaming_pull(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?;
    // The responses are not read; the stream ends when both halves drop.
    tokio::spawn(async move {
        let mut responses = responses.into_inner();
        while let Ok(Some(_)) = responses.message().await {}
    });
    Ok(tx)
}

#[test_log::test(tokio::test)]
async fn a_principal_at_its_stream_cap_gets_no_other_stream_until_one_ends() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut settings = auth_settings(&dir);
    settings.rate_limits.streams_per_principal = NonZeroU32::new(1);
    let server = GoogleServer::secured(start_security(&settings), plain).await;
    let mut ops = publisher(&server, OPS_KEY);
    ops.create_topic(Topic {
        name: topic_path("capped"),
        ..Topic::default()
    })
    .await
    .expect("create topic");
    let mut consumer = SubscriberClient::with_interceptor(server.channel.clone(), Bearer(OPS_KEY));
    consumer
        .create_subscription(Subscription {
            name: subscription_path("capped-sub"),
            topic: topic_path("capped"),
            ..Subscription::default()
        })
        .await
        .expect("create subscription");

    tracing::info!("act: one stream open, then a second");
    let first = open_stream(&mut consumer, "capped-sub")
        .await
        .expect("the first stream");
    let second = open_stream(&mut consumer, "capped-sub").await;
    tracing::info!("assert: the second is RESOURCE_EXHAUSTED until the first ends");
    let status = second.expect_err("a second stream over the cap");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    drop(first);
    let again = wait_for("a stream opens once the first ended", WAIT, || {
        let mut client = consumer.clone();
        async move { open_stream(&mut client, "capped-sub").await.ok() }
    })
    .await;
    assert!(again.is_ok(), "{again:?}");
}

//! TLS on the client port: clients that trust the CA (`--ca-file`) reach it
//! over `https://` and `wss://`; others are refused at the handshake; a new
//! certificate written over the files is served without a restart; the
//! metrics port serves the same certificate when `PUBSUB_METRICS_TLS` is on.

use api::stream::Encoding;
use api::types::PublishRequest;
use api::{Client, ClientOptions};
use testkit::certs::TestCa;
use testkit::client::{subscription, text};
use testkit::server_process::DataDir;
use testkit::wait_for;

use crate::process::{WAIT, start};

fn trusting(base: &str, ca: &TestCa) -> Client {
    trusting_with(base, ca, false)
}

/// A client of `base` that trusts `ca`, over HTTP/2 when `http2`.
fn trusting_with(base: &str, ca: &TestCa, http2: bool) -> Client {
    let options = ClientOptions {
        ca_file: Some(ca.ca_file.clone()),
        http2,
        ..ClientOptions::new(WAIT)
    };
    Client::with_options(base, &options).expect("client")
}

#[test_log::test(tokio::test)]
async fn clients_with_the_ca_file_publish_and_stream_over_https_h2_and_wss_and_others_are_refused()
{
    tracing::info!("arrange: a CA, a server certificate, and a server serving it");
    let ca = TestCa::new("test CA");
    let pair = ca.server_cert("server");
    let data = DataDir::new("tls-serves");
    let (cert, key) = (pair.cert.to_string_lossy(), pair.key.to_string_lossy());
    let server = start(&data, &["--tls-cert-file", &cert, "--tls-key-file", &key]);
    let base = format!("https://{}", server.client_addr());
    let client = trusting(&base, &ca);
    let http2 = trusting_with(&base, &ca, true);

    tracing::info!(
        "act: create, publish over HTTPS (HTTP/1.1 and HTTP/2) and over a WSS publish stream"
    );
    client
        .create_topic("secure", &Default::default())
        .await
        .expect("create topic over https");
    client
        .create_subscription("secure-sub", &subscription("secure"))
        .await
        .expect("create subscription");
    for (sender, data) in [(&client, "over https"), (&http2, "over h2")] {
        sender
            .publish(
                "secure",
                &PublishRequest {
                    messages: vec![text(data)],
                },
                &Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("publish {data}: {e}"));
    }
    let mut publisher = client
        .publisher("secure", Encoding::Json)
        .await
        .expect("publish stream over wss");
    publisher
        .publish(
            PublishRequest {
                messages: vec![text("over wss")],
            },
            None,
        )
        .await
        .expect("publish over wss");
    let received = testkit::client::drain(&client, "secure-sub")
        .await
        .expect("pull over https");

    tracing::info!(
        "assert: all three arrived, the server saw HTTP/1.1 then HTTP/2; untrusting and plain clients fail"
    );
    assert_eq!(received, ["over https", "over h2", "over wss"]);
    let mut publishes = Vec::new();
    while publishes.len() < 2 {
        let line = server.wait_for_log("request");
        if line["target"] == "access" && line["method"] == "POST" {
            publishes.push(line["protocol"].clone());
        }
    }
    assert_eq!(publishes, ["1.1", "2"]);
    let untrusting = Client::with_options(&base, &ClientOptions::new(WAIT)).expect("client");
    let refused = untrusting
        .health()
        .await
        .expect_err("no CA file: the handshake fails");
    assert!(refused.to_string().contains("cannot reach"), "{refused}");
    let plain = Client::new(&base.replacen("https", "http", 1), WAIT).expect("client");
    plain
        .health()
        .await
        .expect_err("plain HTTP gets no answer from a TLS port");
}

#[test_log::test(tokio::test)]
async fn a_certificate_written_over_the_files_is_served_without_a_restart() {
    tracing::info!("arrange: a server with a certificate of the old CA");
    let old_ca = TestCa::new("old CA");
    let new_ca = TestCa::new("new CA");
    let pair = old_ca.server_cert("server");
    let data = DataDir::new("tls-reload");
    let (cert, key) = (pair.cert.to_string_lossy(), pair.key.to_string_lossy());
    let mut server = start(&data, &["--tls-cert-file", &cert, "--tls-key-file", &key]);
    let pid = server.child.id();
    let base = format!("https://{}", server.client_addr());
    let (old, new) = (trusting(&base, &old_ca), trusting(&base, &new_ca));
    old.health()
        .await
        .expect("the old CA's certificate is served");
    new.health().await.expect_err("not yet the new CA's");

    tracing::info!("act: the new CA's certificate and key replace the files");
    new_ca.write_server_cert(&pair, "rotated");

    tracing::info!("assert: the same process serves the new certificate");
    wait_for("the new certificate is served", WAIT, || async {
        new.health().await.ok()
    })
    .await
    .expect("reloaded");
    // A new connection: established ones keep the certificate of their handshake.
    trusting(&base, &old_ca)
        .health()
        .await
        .expect_err("the old CA's certificate is no longer served to new connections");
    assert_eq!(server.child.id(), pid);
    assert!(
        server.child.try_wait().expect("status").is_none(),
        "still running"
    );
}

#[test_log::test(tokio::test)]
async fn the_healthcheck_subcommand_asks_a_tls_port_over_https() {
    tracing::info!("arrange: a server serving TLS");
    let ca = TestCa::new("healthcheck CA");
    let pair = ca.server_cert("server");
    let data = DataDir::new("tls-healthcheck");
    let (cert, key) = (pair.cert.to_string_lossy(), pair.key.to_string_lossy());
    let server = start(&data, &["--tls-cert-file", &cert, "--tls-key-file", &key]);
    let port = server
        .client_addr()
        .rsplit_once(':')
        .expect("host:port")
        .1
        .to_owned();

    tracing::info!("act: `pubsubgo-server healthcheck` with the same TLS settings");
    let status = testkit::server_process::Server::command()
        .args(["--host", "127.0.0.1", "--port", &port])
        .args(["--tls-cert-file", &cert, "--tls-key-file", &key])
        .arg("healthcheck")
        .status()
        .expect("healthcheck runs");

    tracing::info!("assert: healthy; and without the TLS settings it fails (plain HTTP)");
    assert!(status.success());
    let plain = testkit::server_process::Server::command()
        .args(["--host", "127.0.0.1", "--port", &port, "healthcheck"])
        .env_remove("PUBSUB_TLS_CERT_FILE")
        .env_remove("PUBSUB_TLS_KEY_FILE")
        .status()
        .expect("healthcheck runs");
    assert!(!plain.success());
}

#[test_log::test(tokio::test)]
async fn the_metrics_port_serves_the_client_certificate_when_asked() {
    api::tls::install_default_provider();
    tracing::info!("arrange: a server with TLS on the client port and PUBSUB_METRICS_TLS");
    let ca = TestCa::new("metrics CA");
    let pair = ca.server_cert("server");
    let data = DataDir::new("tls-metrics");
    let metrics_port = testkit::redis::free_port();
    let mut command = testkit::server_process::Server::command();
    command
        .env_clear()
        .env("PUBSUB_SERVER_HOST", "127.0.0.1")
        .env("PUBSUB_SERVER_PORT", "0")
        .env("PUBSUB_PEER_PORT", "0")
        .env("PUBSUB_DATA_DIR", &data.0)
        .env("PUBSUB_LOG_FORMAT", "json")
        .env("PUBSUB_METRICS_ENABLED", "true")
        .env("PUBSUB_METRICS_PORT", metrics_port.to_string())
        .env("PUBSUB_METRICS_TLS", "true")
        .env("PUBSUB_TLS_CERT_FILE", &pair.cert)
        .env("PUBSUB_TLS_KEY_FILE", &pair.key);
    let server = testkit::server_process::Server::spawn(command);
    server.client_addr();

    tracing::info!("act: scrape over https with the CA, and over plain http");
    let tls = api::tls::client_config(Some(&ca.ca_file)).expect("CA");
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls))
        .timeout(WAIT)
        .build()
        .expect("client");
    let scraped = https
        .get(format!("https://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("scrape over https");
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .expect("client")
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await;

    tracing::info!("assert: the TLS scrape has the metrics; plain HTTP gets none");
    assert!(scraped.status().is_success(), "{}", scraped.status());
    let text = scraped.text().await.expect("body");
    assert!(text.contains("pubsubgo_"), "{text}");
    assert!(plain.is_err(), "plain HTTP on a TLS port: {plain:?}");
}

//! Redis over TLS: the binary stores messages in a real `redis-server`
//! listening with `--tls-port`, trusting the private CA of
//! `--redis-ca-file`; without that file (the system's trust store) it
//! refuses to start.

use testkit::certs::TestCa;
use testkit::client::{drain, publish, subscription, text};
use testkit::redis::RedisServer;
use testkit::redis::free_port;
use testkit::server_process::DataDir;

use crate::process::start;

#[test_log::test(tokio::test)]
async fn the_broker_stores_in_redis_over_tls_with_a_ca_file_and_refuses_an_untrusted_certificate() {
    tracing::info!("arrange: a redis-server speaking TLS with a test CA's certificate");
    let ca = TestCa::new("redis CA");
    let pair = ca.server_cert("redis");
    let tls_port = free_port().to_string();
    let (cert, key, ca_file) = (
        pair.cert.display().to_string(),
        pair.key.display().to_string(),
        ca.ca_file.display().to_string(),
    );
    let _redis = RedisServer::standalone(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca_file,
        "--tls-auth-clients",
        "no",
    ]);
    let url = format!("rediss://127.0.0.1:{tls_port}");

    tracing::info!("act: a broker on rediss:// with the CA file publishes and pulls");
    let data = DataDir::new("redis-tls");
    let server = start(
        &data,
        &[
            "--storage",
            "redis",
            "--redis-url",
            &url,
            "--redis-ca-file",
            &ca_file,
        ],
    );
    let client = server.connect();
    client
        .create_topic("over-tls", &Default::default())
        .await
        .expect("create topic");
    client
        .create_subscription("over-tls-sub", &subscription("over-tls"))
        .await
        .expect("create subscription");
    publish(&client, "over-tls", vec![text("stored over TLS")])
        .await
        .expect("publish");
    let received = drain(&client, "over-tls-sub").await.expect("pull");

    tracing::info!("assert: the message went through Redis; without the CA the broker stops");
    assert_eq!(received, ["stored over TLS"]);
    let untrusting = DataDir::new("redis-tls-untrusting");
    let mut refused = start(&untrusting, &["--storage", "redis", "--redis-url", &url]);
    let status = refused.child.wait().expect("exits");
    assert!(
        !status.success(),
        "a broker that cannot verify Redis's certificate does not start: {status}"
    );
}

//! The Secret volumes of the production overlay's broker pods, filled as an
//! operator fills the Secrets, for the rehearsal: a test CA's certificate for
//! the pods' names and addresses (`pubsubgo-tls`, and with the CA for the peer
//! port's mutual TLS `pubsubgo-peer-tls`), and the hash of the load's API key
//! with a policy allowing it everything (`pubsubgo-auth`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// The API key the load sends (its hash is in the pubsubgo-auth Secret).
pub const LOAD_KEY: &str = "rehearsal-load-key-3c1f0a9d";

/// Fills a directory per Secret volume the broker mounts, as an operator
/// fills the Secrets: `pubsubgo-tls` with a certificate of `ca` for the pods'
/// names and addresses, `pubsubgo-auth` with the load's key hash and a policy
/// allowing it everything. Answers each mount path with its directory.
pub fn secret_volumes(
    sts: &Value,
    ca: &testkit::certs::TestCa,
    replicas: u64,
) -> Vec<(String, PathBuf)> {
    let spec = &sts["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let mut names: Vec<String> = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    for i in 0..replicas {
        names.push(format!("127.0.0.{}", 10 + i));
        names.push(format!("pubsubgo-{i}.pubsubgo-headless"));
    }
    let pair = ca.cert_for("broker", &names);
    let mut mounts = Vec::new();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let volume = spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == mount["name"]);
        let Some(secret) = volume.and_then(|v| v["secret"]["secretName"].as_str()) else {
            continue;
        };
        let dir = ca.dir().join(secret);
        std::fs::create_dir_all(&dir).expect("secret volume");
        match secret {
            "pubsubgo-tls" => {
                std::fs::copy(&pair.cert, dir.join("tls.crt")).expect("tls.crt");
                std::fs::copy(&pair.key, dir.join("tls.key")).expect("tls.key");
            }
            "pubsubgo-peer-tls" => {
                std::fs::copy(&pair.cert, dir.join("tls.crt")).expect("tls.crt");
                std::fs::copy(&pair.key, dir.join("tls.key")).expect("tls.key");
                std::fs::copy(&ca.ca_file, dir.join("ca.crt")).expect("ca.crt");
            }
            "pubsubgo-auth" => {
                let hash = node::security::auth::api_keys::hash_hex(LOAD_KEY);
                std::fs::write(
                    dir.join("api-keys.yaml"),
                    format!("keys:\n  - principal: load\n    sha256: {hash}\n"),
                )
                .expect("api-keys.yaml");
                std::fs::write(
                    dir.join("policy.yaml"),
                    "principals:\n  load:\n    - resources: [\"*\"]\n      actions: [publish, consume, manage, admin]\n",
                )
                .expect("policy.yaml");
            }
            other => panic!("the rehearsal does not know the Secret {other}"),
        }
        let path = mount["mountPath"].as_str().expect("mountPath");
        mounts.push((format!("{}/", path.trim_end_matches('/')), dir));
    }
    mounts
}

/// Asserts the peer port at `address` (as logged: `host:port`) does not
/// answer plain HTTP: with the overlay's mutual TLS it speaks only TLS, so a
/// caller without a certificate of the cluster CA gets no HTTP answer.
pub fn assert_peer_port_refuses_plain_http(address: &str) {
    let mut stream = TcpStream::connect(address).expect("connect to the peer port");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
        .write_all(b"GET /raft/metrics HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n")
        .expect("send a plain request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "the peer port {address} answered plain HTTP: {}",
        String::from_utf8_lossy(&answer)
    );
}

//! Mutual TLS on the peer port: three `pubsubgo-server` processes with
//! certificates of one cluster CA form a cluster, forward metadata writes to
//! the leader and storage calls to partition owners; a caller without a
//! cluster certificate (plain HTTP, no certificate, another CA's) is refused
//! at the handshake, while one with a cluster certificate is answered.

use raft::peer::{JoinRequest, PeerStatus};
use raft::versioned_postcard;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use testkit::certs::{CertPair, TestCa};
use testkit::client::{drain, publish, subscription, text, topic};
use testkit::redis::free_port;
use testkit::server_process::{DataDir, Server};

use crate::process::WAIT;

/// Node `id` of the cluster on `peers`, with `pair` as its peer certificate.
fn start_node(id: usize, ports: &[u16], ca: &TestCa, pair: &CertPair, data: &DataDir) -> Server {
    let peers: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| format!("{i}=127.0.0.1:{port}"))
        .collect();
    let mut command = Server::cluster_node(id as u64, ports[id], &peers.join(","), data);
    command
        .env("PUBSUB_PEER_TLS_CERT_FILE", &pair.cert)
        .env("PUBSUB_PEER_TLS_KEY_FILE", &pair.key)
        .env("PUBSUB_PEER_TLS_CA_FILE", &ca.ca_file);
    Server::spawn(command)
}

/// A peer-protocol caller trusting `ca`, presenting `identity` if any.
fn caller(ca: &TestCa, identity: Option<&CertPair>) -> reqwest::Client {
    let roots = api::tls::root_store(&ca.ca_file).expect("CA");
    let builder = rustls::ClientConfig::builder_with_provider(api::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some(pair) => {
            let chain = CertificateDer::pem_file_iter(&pair.cert)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .expect("certificate");
            let key = PrivateKeyDer::from_pem_file(&pair.key).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client certificate")
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(config)
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// Posts an encoded `body` to `url`; answers the body of a 200.
async fn post<T: serde::Serialize>(
    http: &reqwest::Client,
    url: &str,
    body: &T,
) -> Result<Vec<u8>, String> {
    let body = versioned_postcard::encode(body).expect("encode");
    let response = http
        .post(url)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| format!("{e:?}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    Ok(bytes.to_vec())
}

#[test_log::test(tokio::test)]
async fn a_cluster_runs_over_mutual_tls_and_callers_without_a_cluster_certificate_are_refused() {
    api::tls::install_default_provider();
    tracing::info!("arrange: a cluster CA, three node certificates, three nodes on it");
    let ca = TestCa::new("cluster CA");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let data = DataDir::new("peer-tls");
    let pairs: Vec<CertPair> = (0..3)
        .map(|i| ca.server_cert(&format!("node-{i}")))
        .collect();
    let nodes: Vec<Server> = (0..3)
        .map(|i| start_node(i, &ports, &ca, &pairs[i], &data))
        .collect();
    // Each node logs "listening" once it knows a leader: Raft ran over mTLS.
    let clients: Vec<api::Client> = nodes.iter().map(Server::connect).collect();

    tracing::info!("act: create through one node, publish through each, pull through one");
    clients[1]
        .create_topic("secured", &topic(3))
        .await
        .expect("create topic (forwarded to the leader)");
    clients[2]
        .create_subscription("secured-sub", &subscription("secured"))
        .await
        .expect("create subscription");
    for (i, client) in clients.iter().enumerate() {
        publish(client, "secured", vec![text(&format!("via node {i}"))])
            .await
            .expect("publish (stored by the partition's owner)");
    }
    let mut received = drain(&clients[0], "secured-sub").await.expect("pull");
    received.sort();

    tracing::info!("assert: every message arrived; the three founders are voters, none demoted");
    assert_eq!(received, ["via node 0", "via node 1", "via node 2"]);
    let status = clients[0].cluster_status().await.expect("cluster status");
    assert_eq!(status.voters.len(), 3, "{status:?}");
    assert!(status.learners.is_empty(), "{status:?}");

    tracing::info!("assert: only a caller with a cluster certificate reaches the peer port");
    let status_url = format!("https://127.0.0.1:{}{}", ports[0], raft::peer::STATUS);
    let join_url = format!("https://127.0.0.1:{}{}", ports[0], raft::peer::JOIN);
    let member = ca.server_cert("member");
    let answered = post(&caller(&ca, Some(&member)), &status_url, &())
        .await
        .expect("a cluster certificate is answered");
    let answered: PeerStatus = versioned_postcard::decode(&answered).expect("a peer status");
    assert_eq!(answered.node_id.get(), 0);

    let join = JoinRequest {
        node_id: raft::NodeId::new(7),
        addr: "127.0.0.1:1".to_owned(),
    };
    let without = post(&caller(&ca, None), &join_url, &join).await;
    assert!(without.is_err(), "no client certificate: {without:?}");
    let other_ca = TestCa::new("another CA");
    let stranger = other_ca.server_cert("stranger");
    let foreign = post(&caller(&ca, Some(&stranger)), &join_url, &join).await;
    assert!(foreign.is_err(), "another CA's certificate: {foreign:?}");
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let plain_call = post(
        &plain,
        &format!("http://127.0.0.1:{}{}", ports[0], raft::peer::STATUS),
        &(),
    )
    .await;
    assert!(plain_call.is_err(), "plain HTTP: {plain_call:?}");
    let status = clients[0].cluster_status().await.expect("cluster status");
    assert_eq!(status.voters.len(), 3, "nobody joined: {status:?}");
}

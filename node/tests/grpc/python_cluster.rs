//! Google's official Python client against a 3-node cluster of real
//! `pubsubgo-server` processes on Redis storage, pointed at node 0 while
//! nodes 1 and 2 own every partition of the script's topics: each publish,
//! StreamingPull, ack, nack, seek and exactly-once ack goes through a node
//! that forwards it to the owner.
//!
//! Partitions are placed by rendezvous hashing over the live nodes
//! (`cluster::placement`), so the test picks a suffix for the script's names
//! whose owners are not node 0, then asserts that fact through the cluster
//! status route once the script ran.

use std::time::Duration;

use cluster::placement::rendezvous_owner;
use cluster::{NodeId, TopicName};
use testkit::redis::{free_port, fresh_prefix, shared_standalone};
use testkit::server_process::{DataDir, Server};
use testkit::wait_for;

use crate::python_client::{client_python, run_script};

/// The topics `google_client.py` creates (before the suffix), each with one
/// partition; `admin` is deleted again by the script.
const SCRIPT_TOPICS: [&str; 6] = ["admin", "stream", "unary", "dead", "doomed", "exact"];
/// The node the client talks to.
const CONNECTED: u64 = 0;
const NODES: u64 = 3;
const WAIT: Duration = Duration::from_secs(30);

/// A suffix for the script's ids whose topics' partitions node
/// [`CONNECTED`] does not own, with every node live.
fn suffix_owned_elsewhere() -> String {
    let nodes: Vec<NodeId> = (0..NODES).map(NodeId::new).collect();
    (0..1000)
        .map(|n| format!("-{n}"))
        .find(|suffix| {
            SCRIPT_TOPICS.iter().all(|topic| {
                let name = TopicName::new(format!("{topic}{suffix}")).expect("topic name");
                rendezvous_owner(&name, 0, nodes.iter().copied()) != Some(NodeId::new(CONNECTED))
            })
        })
        .expect("a suffix among the first thousand")
}

#[test_log::test(tokio::test)]
async fn googles_python_client_runs_through_a_node_that_owns_no_partition() {
    let python = client_python();
    tracing::info!("arrange: three nodes on one Redis, gRPC on each");
    let redis = shared_standalone().url();
    let prefix = fresh_prefix();
    let data = DataDir::new("google-python-cluster");
    let ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let peers: Vec<String> = (0..NODES)
        .map(|i| format!("{i}=127.0.0.1:{}", ports[i as usize]))
        .collect();
    let nodes: Vec<Server> = (0..NODES)
        .map(|id| {
            let mut command = Server::cluster_node(id, ports[id as usize], &peers.join(","), &data);
            command
                .env("PUBSUB_STORAGE", "redis")
                .env("PUBSUB_REDIS_URL", &redis)
                .env("PUBSUB_REDIS_KEY_PREFIX", &prefix);
            Server::spawn(command)
        })
        .collect();
    let listening: Vec<serde_json::Value> = nodes
        .iter()
        .map(|node| node.wait_for_log("pubsubgo-server listening"))
        .collect();
    let address = |id: u64, field: &str| {
        listening[id as usize][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} address of node {id}"))
            .to_owned()
    };
    let api = api::Client::new(&format!("http://{}", address(CONNECTED, "client")), WAIT)
        .expect("client");
    wait_for("every node live in the placement", WAIT, || async {
        let status = api.cluster_status().await.ok()?;
        let live = status.nodes.iter().filter(|n| n.live).count() as u64;
        (status.healthy && live == NODES).then_some(())
    })
    .await
    .expect("a healthy cluster of three");
    let suffix = suffix_owned_elsewhere();
    tracing::info!(%suffix, "the script's topics will be owned by nodes 1 and 2");

    tracing::info!("act: the client's script through node {CONNECTED}");
    let grpc = address(CONNECTED, "grpc");
    let env = [
        ("PUBSUB_EMULATOR_HOST", grpc.as_str()),
        ("PUBSUBGO_NAME_SUFFIX", suffix.as_str()),
    ];
    let status = run_script(&python, "google_client.py", &env).await;

    tracing::info!("assert: every check passed, and other nodes owned the partitions");
    assert!(
        status.success(),
        "google_client.py against the cluster failed ({status}); its output is above"
    );
    let cluster = api.cluster_status().await.expect("cluster status");
    for topic in &SCRIPT_TOPICS[1..] {
        let name = format!("{topic}{suffix}");
        let owner = cluster
            .partitions
            .iter()
            .find(|p| p.topic == name)
            .and_then(|p| p.node)
            .unwrap_or_else(|| panic!("{name} has an owner: {cluster:?}"));
        assert_ne!(
            owner, CONNECTED,
            "{name} is owned by the node the client used"
        );
    }
}

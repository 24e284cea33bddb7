//! A StatefulSet rehearsal on real processes: the production overlay's pods as
//! three `pubsubgo-server` processes with exactly the environment the overlay
//! renders (node id from the pod name, voters by the headless service's names,
//! Redis settings from the ConfigMap, the password from the Secret), on Redis,
//! under a publish/consume load, through a rolling restart like the
//! StatefulSet controller's: highest ordinal first, SIGTERM, wait for the exit,
//! start again on the same data directory, the next pod only once `/readyz`
//! answers. No acknowledged message may be lost, and every pull is answered
//! or told to retry.
//!
//! What stands in for Kubernetes, and why:
//! - The test runs itself again inside private network, mount and PID
//!   namespaces (`unshare`): the pods' fixed ports (8081, 8082, 9092) cannot
//!   collide with anything on the machine, and every process dies with the test.
//! - Pod addresses are loopback addresses, 127.0.0.10 + ordinal, given as
//!   `PUBSUB_SERVER_HOST` (a pod listens on its own address).
//! - DNS: the headless service's names and the Redis service's name resolve
//!   through a hosts file bind-mounted over `/etc/hosts` in the private mount
//!   namespace only (the machine's file is untouched), so the server resolves
//!   them through the C library as it does cluster DNS, with no test-only
//!   resolver in its code.
//! - The volume is a directory per pod (`PUBSUB_DATA_DIR`); Redis is a
//!   `redis-server` on a free port (`PUBSUB_REDIS_PORT`).
//! - Secret volumes (the client port's certificate, the peer port's
//!   certificate and CA, the API key hashes and the policy) are directories the test fills as an operator fills the
//!   Secrets (a test CA's certificate for the pods' names and addresses, one
//!   API key allowed everything); settings naming files under a Secret's
//!   mount path name the same files there. Clients trust the test CA and
//!   send the key.
//! - The client Service is the load's own choice among the pods in service: a
//!   pod leaves it before its SIGTERM and rejoins once ready.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::redis::RedisServer;
use testkit::server_process::{Server, WAIT};

use crate::manifests::TEST_SECRETS;
use crate::rendered::{Rendered, container_ports, deployment_tools, env_value, policy_ports};
use crate::secret_volumes::{LOAD_KEY, assert_peer_port_refuses_plain_http, secret_volumes};

/// Set in the copy of this test that runs inside the namespaces.
const INSIDE: &str = "PUBSUBGO_REHEARSAL_INSIDE";
const TEST_NAME: &str =
    "rehearsal::a_rolling_restart_of_the_production_statefulset_loses_no_acknowledged_message";
const TOPIC: &str = "rehearsal";
const SUBSCRIPTION: &str = "rehearsal-sub";
/// Messages published after the last pod is back, before the load stops.
const AFTER_RESTARTS: u64 = 200;
/// How long a pod may take to stop, or to start and be ready.
const POD_WITHIN: Duration = Duration::from_secs(60);
/// How long draining the subscription may take (leases of a stopped node
/// expire after the ack deadline, then redeliver).
const DRAIN_WITHIN: Duration = Duration::from_secs(90);

#[test_log::test]
fn a_rolling_restart_of_the_production_statefulset_loses_no_acknowledged_message() {
    if std::env::var_os(INSIDE).is_some() {
        rehearse();
        return;
    }
    // The validators install from package registries, unreachable inside.
    assert!(deployment_tools(&["dir"]).status.success());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut unshare = Command::new("unshare");
    if !root {
        unshare.args(["--user", "--map-root-user"]);
    }
    let output = unshare
        .args([
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
        ])
        .arg(std::env::current_exe().expect("test binary"))
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare runs (util-linux)");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the rehearsal in private namespaces failed (needs root or unprivileged user namespaces):\n{stdout}"
    );
}

/// One pod of the StatefulSet.
struct Pod {
    name: String,
    ip: String,
    env: Vec<(String, String)>,
    server: Option<Server>,
    /// The test CA and the load's key, when the overlay turns TLS and auth on.
    client_options: api::ClientOptions,
}

impl Pod {
    /// Starts the pod's process and waits for its listening line.
    fn start(&mut self) -> Value {
        // Alone in its namespaces, the pod opens the declared ports, gRPC's too.
        let mut command = Server::bare_command();
        command
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let server = Server::spawn(command);
        let listening = server.wait_for_log("pubsubgo-server listening");
        self.server = Some(server);
        listening
    }

    fn client(&self) -> api::Client {
        let port = env_value(&self.env, "PUBSUB_SERVER_PORT").expect("client port");
        let scheme = if env_value(&self.env, "PUBSUB_TLS_CERT_FILE").is_some() {
            "https"
        } else {
            "http"
        };
        api::Client::with_options(
            &format!("{scheme}://{}:{port}", self.ip),
            &self.client_options,
        )
        .expect("client")
    }
}

/// The port of an address in a log line (`127.0.0.10:8081` or `Some(…)`).
fn port_of(logged: &Value) -> u64 {
    let text = logged.as_str().expect("an address");
    let digits: String = text
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a port")
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().expect(program);
    assert!(status.success(), "{program} {args:?}");
}

fn rehearse() {
    run("ip", &["link", "set", "lo", "up"]);
    let rendered = Rendered::overlay("production");
    let sts = rendered.one("StatefulSet", "pubsubgo");
    let replicas = sts["spec"]["replicas"].as_u64().expect("replicas");
    let secrets = BTreeMap::from(TEST_SECRETS);
    let volumes = tempfile::tempdir().expect("volumes");
    let redis = RedisServer::standalone(&["--appendonly", "yes"]);
    redis.command(&format!("CONFIG SET requirepass {}", TEST_SECRETS[0].1));

    let ca = testkit::certs::TestCa::new("rehearsal CA");
    let mounts = secret_volumes(sts, &ca, replicas);
    let client_options = api::ClientOptions {
        ca_file: Some(ca.ca_file.clone()),
        token: Some(LOAD_KEY.to_owned()),
        ..api::ClientOptions::new(WAIT)
    };
    tracing::info!("arrange: pods with the rendered environment; names resolve to pod addresses");
    let mut pods: Vec<Pod> = (0..replicas)
        .map(|i| {
            let name = format!("pubsubgo-{i}");
            let ip = format!("127.0.0.{}", 10 + i);
            let mut env = rendered.pod_environment(sts, &name, &secrets);
            let data: PathBuf = volumes.path().join(&name);
            for (key, value) in [
                ("PUBSUB_SERVER_HOST", ip.clone()),
                ("PUBSUB_DATA_DIR", data.display().to_string()),
                ("PUBSUB_REDIS_PORT", redis.port.to_string()),
            ] {
                env.retain(|(k, _)| k != key);
                env.push((key.to_owned(), value));
            }
            for (_, value) in &mut env {
                for (mount, dir) in &mounts {
                    if let Some(file) = value.strip_prefix(mount.as_str()) {
                        *value = dir.join(file).display().to_string();
                    }
                }
            }
            Pod {
                name,
                ip,
                env,
                server: None,
                client_options: client_options.clone(),
            }
        })
        .collect();
    let peers = node::config::parse_peers(env_value(&pods[0].env, "PUBSUB_PEERS").expect("peers"))
        .expect("peer list");
    let mut hosts = String::from("127.0.0.1 localhost\n");
    for (id, address) in &peers {
        let host = address.rsplit_once(':').expect("host:port").0;
        hosts.push_str(&format!("127.0.0.{} {host}\n", 10 + id.get()));
    }
    let redis_host = env_value(&pods[0].env, "PUBSUB_REDIS_HOST").expect("redis host");
    hosts.push_str(&format!("127.0.0.1 {redis_host}\n"));
    let hosts_file = volumes.path().join("hosts");
    std::fs::write(&hosts_file, hosts).expect("hosts file");
    run(
        "mount",
        &["--bind", &hosts_file.display().to_string(), "/etc/hosts"],
    );

    let container = &sts["spec"]["template"]["spec"]["containers"][0];
    let declared = container_ports(container);
    let policy_ports = policy_ports(rendered.one("NetworkPolicy", "pubsubgo"));
    for pod in &mut pods {
        let listening = pod.start();
        let opened: BTreeSet<u64> = ["client", "metrics", "peer", "grpc"]
            .iter()
            .map(|key| port_of(&listening[key]))
            .collect();
        assert_eq!(
            opened, declared,
            "{}: the ports it opened are the declared ones",
            pod.name
        );
        assert_eq!(
            opened, policy_ports,
            "{}: a network policy covers each",
            pod.name
        );
        assert_peer_port_refuses_plain_http(listening["peer"].as_str().expect("peer address"));
    }

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let clients: Vec<api::Client> = pods.iter().map(Pod::client).collect();
    runtime.block_on(async {
        for client in &clients {
            wait_ready(client).await;
        }
        let topic = api::types::CreateTopicRequest {
            partitions: Some(6),
            ..Default::default()
        };
        clients[0].create_topic(TOPIC, &topic).await.expect("topic");
        let sub = api::types::CreateSubscriptionRequest {
            topic: TOPIC.to_owned(),
            start_position: Some(api::types::StartPosition::Earliest),
            ack_deadline_seconds: Some(10),
            ..Default::default()
        };
        clients[0]
            .create_subscription(SUBSCRIPTION, &sub)
            .await
            .expect("subscription");
    });

    tracing::info!("act: load, then a rolling restart from the highest ordinal");
    let load = Arc::new(Load::new(clients));
    let publisher = runtime.spawn(publish(load.clone()));
    let consumer = runtime.spawn(consume(load.clone()));
    let mut restart_seconds = Vec::new();
    for i in (0..pods.len()).rev() {
        let pod = &mut pods[i];
        let started = Instant::now();
        let mut server = pod.server.take().expect("running");
        // Worst case for the endpoints: the pod stays in service until it
        // has exited, so requests keep reaching it while it shuts down.
        let status = server.terminate();
        load.set_in_service(i, false);
        assert!(status.success(), "{} stops cleanly: {status:?}", pod.name);
        pod.start();
        runtime.block_on(wait_ready(&load.clients[i]));
        restart_seconds.push((pod.name.clone(), started.elapsed().as_secs_f64()));
        load.set_in_service(i, true);
    }
    let published_before_end = load.acked_count();
    runtime.block_on(async {
        let give_up = Instant::now() + POD_WITHIN;
        while load.acked_count() < published_before_end + AFTER_RESTARTS {
            assert!(
                Instant::now() < give_up,
                "publishing resumed after the restarts"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    load.stop_publishing.store(true, Ordering::SeqCst);
    let publishes = runtime.block_on(publisher).expect("publisher");
    let acked = load.acked.lock().expect("acked").clone();
    runtime.block_on(async {
        let give_up = Instant::now() + DRAIN_WITHIN;
        while !acked.is_subset(&load.received.lock().expect("received")) {
            if Instant::now() > give_up {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    load.stop_consuming.store(true, Ordering::SeqCst);
    let pulls = runtime.block_on(consumer).expect("consumer");

    tracing::info!("assert: nothing acknowledged was lost; every pull answered or retryable");
    let received = load.received.lock().expect("received").clone();
    let lost: Vec<&String> = acked.difference(&received).collect();
    eprintln!(
        "rehearsal figures: restart seconds per pod {restart_seconds:?}; publishes acknowledged {}, \
         answered 503 {}, not reached (retried elsewhere) {}, other retryable {}; pulls answered {}, \
         retryable {}, failed {}; acks failed {}; messages lost {}, delivered twice {}",
        acked.len(),
        publishes.unavailable,
        publishes.unreachable,
        publishes.other_retryable,
        pulls.answered,
        pulls.retryable,
        pulls.failed,
        pulls.acks_failed,
        lost.len(),
        load.duplicates.load(Ordering::SeqCst),
    );
    assert!(lost.is_empty(), "acknowledged messages lost: {lost:?}");
    assert_eq!(pulls.failed, 0, "every pull was answered or retryable");
    assert_eq!(publishes.failed, 0, "every publish error was retryable");
    assert!(pulls.answered > 0 && acked.len() as u64 > AFTER_RESTARTS);
}

async fn wait_ready(client: &api::Client) {
    let give_up = Instant::now() + POD_WITHIN;
    while client.ready().await.is_err() {
        assert!(Instant::now() < give_up, "{} ready", client.base_url());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The load's view of the cluster: the client Service (pods in service),
/// what was acknowledged and what was received.
struct Load {
    clients: Vec<api::Client>,
    in_service: Mutex<Vec<bool>>,
    next: AtomicU64,
    acked: Mutex<BTreeSet<String>>,
    received: Mutex<BTreeSet<String>>,
    duplicates: AtomicU64,
    stop_publishing: AtomicBool,
    stop_consuming: AtomicBool,
}

impl Load {
    fn new(clients: Vec<api::Client>) -> Self {
        Self {
            in_service: Mutex::new(vec![true; clients.len()]),
            clients,
            next: AtomicU64::new(0),
            acked: Mutex::new(BTreeSet::new()),
            received: Mutex::new(BTreeSet::new()),
            duplicates: AtomicU64::new(0),
            stop_publishing: AtomicBool::new(false),
            stop_consuming: AtomicBool::new(false),
        }
    }

    fn set_in_service(&self, pod: usize, serving: bool) {
        self.in_service.lock().expect("in service")[pod] = serving;
    }

    /// The next pod in service, round robin, like a Service's endpoints.
    fn pick(&self) -> api::Client {
        let serving: Vec<usize> = self
            .in_service
            .lock()
            .expect("in service")
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.then_some(i))
            .collect();
        let n = self.next.fetch_add(1, Ordering::Relaxed) as usize;
        self.clients[serving[n % serving.len()]].clone()
    }

    fn acked_count(&self) -> u64 {
        self.acked.lock().expect("acked").len() as u64
    }
}

#[derive(Debug, Default)]
struct PublishFigures {
    unavailable: u64,
    unreachable: u64,
    other_retryable: u64,
    failed: u64,
}

/// Publishes one message per request, each with its own idempotency key, and
/// retries a retryable failure on the next pod in service.
async fn publish(load: Arc<Load>) -> PublishFigures {
    let mut figures = PublishFigures::default();
    let mut n = 0u64;
    while !load.stop_publishing.load(Ordering::SeqCst) {
        let text = format!("m{n}");
        let request = api::types::PublishRequest {
            messages: vec![api::types::PublishMessage {
                data: text.as_str().into(),
                ..Default::default()
            }],
        };
        let options = api::PublishOptions {
            idempotency_key: Some(format!("k{n}")),
            ..Default::default()
        };
        loop {
            match load.pick().publish(TOPIC, &request, &options).await {
                Ok(_) => {
                    load.acked.lock().expect("acked").insert(text);
                    break;
                }
                Err(e) if e.problem().is_some_and(|p| p.status == 503) => figures.unavailable += 1,
                Err(api::ClientError::Transport { .. }) => figures.unreachable += 1,
                Err(e) if e.is_retryable() => figures.other_retryable += 1,
                Err(e) => {
                    eprintln!("publish {text} failed for good: {e}");
                    figures.failed += 1;
                    break;
                }
            }
            // A client's back-off before retrying elsewhere.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        n += 1;
    }
    figures
}

#[derive(Debug, Default)]
struct PullFigures {
    answered: u64,
    retryable: u64,
    failed: u64,
    acks_failed: u64,
}

/// Pulls from the pods in service and acknowledges what it gets.
async fn consume(load: Arc<Load>) -> PullFigures {
    let mut figures = PullFigures::default();
    let request = api::types::PullRequest {
        max_messages: Some(100),
        wait_seconds: Some(1),
        ..Default::default()
    };
    while !load.stop_consuming.load(Ordering::SeqCst) {
        let client = load.pick();
        match client.pull(SUBSCRIPTION, &request).await {
            Ok(pulled) => {
                figures.answered += 1;
                let mut ack_ids = Vec::new();
                for m in pulled.received_messages {
                    let text = String::from_utf8_lossy(&m.message.data.0).into_owned();
                    if !load.received.lock().expect("received").insert(text) {
                        load.duplicates.fetch_add(1, Ordering::SeqCst);
                    }
                    ack_ids.push(m.ack_id);
                }
                if !ack_ids.is_empty() && client.acknowledge(SUBSCRIPTION, ack_ids).await.is_err() {
                    // Redelivered after the ack deadline: at-least-once.
                    figures.acks_failed += 1;
                }
            }
            Err(e) if e.is_retryable() => {
                figures.retryable += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                eprintln!("pull failed for good: {e}");
                figures.failed += 1;
            }
        }
    }
    figures
}

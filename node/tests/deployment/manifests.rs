//! The rendered overlays hold what the broker needs of them, checked against
//! the server's own routes, ports and settings parser; the validation script
//! fails on deliberately broken manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use node::config::{NodeIdSetting, parse_peers};
use serde_json::Value;

use crate::rendered::{Rendered, container_ports, env_value, policy_ports, repo};

/// A stand-in for the Redis Secret, which the manifests only reference.
pub const TEST_SECRETS: [((&str, &str), &str); 1] = [(("pubsubgo-redis", "password"), "secret")];

fn port(env: &[(String, String)], name: &str) -> u64 {
    env_value(env, name)
        .unwrap_or_else(|| panic!("{name} is set"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a port"))
}

/// The container port named `name`.
fn container_port(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_array()
        .expect("container ports")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("container port {name}"))
}

/// The host of `scheme://host:port/path` or `host:port`.
fn host_of(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// Every service a broker, Grafana or the collector is told to reach by name
/// exists in the render: namePrefix renames services but not the values that
/// name them.
fn assert_named_services_exist(rendered: &Rendered, env: &[(String, String)]) {
    let services: BTreeSet<&str> = rendered
        .all("Service")
        .into_iter()
        .filter_map(|s| s["metadata"]["name"].as_str())
        .collect();
    let mut named: Vec<String> = ["PUBSUB_REDIS_HOST", "PUBSUB_TRACING_OTLP_ENDPOINT"]
        .iter()
        .filter_map(|key| env_value(env, key))
        .map(|value| host_of(value).to_owned())
        .collect();
    let peers = parse_peers(env_value(env, "PUBSUB_PEERS").unwrap_or_default()).expect("peers");
    for address in peers.values() {
        let host = host_of(address);
        named.push(host.split_once('.').map_or(host, |(_, svc)| svc).to_owned());
    }
    for deployment in rendered.all("Deployment") {
        for container in deployment["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for entry in container["env"].as_array().into_iter().flatten() {
                let name = entry["name"].as_str().unwrap_or_default();
                if name.ends_with("_URL") || name.ends_with("_ENDPOINT") {
                    named.push(host_of(entry["value"].as_str().unwrap_or_default()).to_owned());
                }
            }
        }
    }
    for host in named {
        assert!(
            services.contains(host.as_str()),
            "{host} is named in a setting but no Service has that name: {services:?}"
        );
    }
}

#[test_log::test]
fn the_production_overlay_keeps_a_quorum_and_matches_the_server() {
    let rendered = Rendered::overlay("production");
    let sts = rendered.one("StatefulSet", "pubsubgo");
    let spec = &sts["spec"];
    let pod = &spec["template"]["spec"];
    let container = &pod["containers"][0];
    let secrets = BTreeMap::from(TEST_SECRETS);
    let env = rendered.pod_environment(sts, "pubsubgo-1", &secrets);

    tracing::info!("formation: every pod starts at once; peers find each other before ready");
    assert_eq!(spec["podManagementPolicy"], "Parallel");
    let headless = rendered.one(
        "Service",
        spec["serviceName"].as_str().expect("serviceName"),
    );
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);

    tracing::info!("identity: the voters are the first ordinals, named by the headless service");
    let replicas = spec["replicas"].as_u64().expect("replicas");
    let peer_port = port(&env, "PUBSUB_PEER_PORT");
    let peers = parse_peers(env_value(&env, "PUBSUB_PEERS").expect("PUBSUB_PEERS")).expect("peers");
    let expected: BTreeMap<cluster::NodeId, String> = (0..replicas)
        .map(|i| {
            (
                cluster::NodeId::new(i),
                format!("pubsubgo-{i}.pubsubgo-headless:{peer_port}"),
            )
        })
        .collect();
    assert_eq!(peers, expected, "one voter per replica, by stable name");
    for i in 0..replicas {
        let name = format!("pubsubgo-{i}");
        let env = rendered.pod_environment(sts, &name, &secrets);
        let id: NodeIdSetting = env_value(&env, "PUBSUB_NODE_ID")
            .expect("PUBSUB_NODE_ID")
            .parse()
            .expect("a node id");
        assert_eq!(id.0, i, "{name} is node {i}");
        assert_eq!(
            env_value(&env, "PUBSUB_ADVERTISE_ADDR"),
            Some(expected[&cluster::NodeId::new(i)].as_str()),
            "{name} advertises its peer-list entry"
        );
    }

    tracing::info!("disruptions keep a quorum of exactly the voters");
    let pdb = rendered.one("PodDisruptionBudget", "pubsubgo");
    assert_eq!(pdb["spec"]["minAvailable"].as_u64(), Some(replicas / 2 + 1));
    assert!(pdb["spec"]["maxUnavailable"].is_null());
    let indexes: BTreeSet<u64> = pdb["spec"]["selector"]["matchExpressions"]
        .as_array()
        .expect("the voters by pod index")
        .iter()
        .filter(|e| e["key"] == "apps.kubernetes.io/pod-index" && e["operator"] == "In")
        .flat_map(|e| e["values"].as_array().expect("values").clone())
        .map(|v| v.as_str().and_then(|v| v.parse().ok()).expect("an index"))
        .collect();
    assert_eq!(indexes, peers.keys().map(|id| id.get()).collect());
    let hpa = rendered.one("HorizontalPodAutoscaler", "pubsubgo");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "pubsubgo");
    assert_eq!(
        hpa["spec"]["minReplicas"].as_u64(),
        Some(peers.len() as u64),
        "the autoscaler never removes a voter"
    );

    tracing::info!("probes ask the server's routes on its client port; liveness needs no leader");
    let client_port = port(&env, "PUBSUB_SERVER_PORT");
    let metrics_port = port(&env, "PUBSUB_METRICS_PORT");
    let grpc_port = port(&env, "PUBSUB_GRPC_PORT");
    for (probe, path) in [
        ("startupProbe", api::paths::HEALTHZ),
        ("livenessProbe", api::paths::HEALTHZ),
        ("readinessProbe", api::paths::READYZ),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        let named = get["port"].as_str().expect("a named port");
        assert_eq!(container_port(container, named), client_port, "{probe}");
    }
    assert_eq!(container_port(container, "peer"), peer_port);
    assert_eq!(container_port(container, "metrics"), metrics_port);
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/port"], metrics_port.to_string());
    assert_eq!(annotations["prometheus.io/path"], api::paths::METRICS);
    let service = rendered.one("Service", "pubsubgo");
    let http = &service["spec"]["ports"][0];
    assert_eq!(
        http["port"], 8080,
        "kubectl port-forward svc/pubsubgo 8080:8080"
    );
    assert_eq!(
        container_port(container, http["targetPort"].as_str().expect("named")),
        client_port
    );

    tracing::info!("network policies: clients, peers and Prometheus each reach only their port");
    let policy = rendered.one("NetworkPolicy", "pubsubgo");
    let rules = policy["spec"]["ingress"].as_array().expect("ingress rules");
    let sources_of = |port: u64| -> Vec<Value> {
        rules
            .iter()
            .filter(|r| {
                r["ports"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["port"] == port))
            })
            .map(|r| r["from"].clone())
            .collect()
    };
    let from_pods = |name: &str| serde_json::json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}]);
    assert_eq!(
        sources_of(client_port),
        vec![Value::Null],
        "clients from anywhere"
    );
    assert_eq!(sources_of(peer_port), vec![from_pods("pubsubgo")]);
    // Beyond the policy, the peer port asks for a certificate of the cluster CA:
    // all three files come from the pubsubgo-peer-tls Secret's volume.
    let peer_tls_mount =
        container["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| {
                pod["volumes"].as_array().into_iter().flatten().any(|v| {
                    v["name"] == m["name"] && v["secret"]["secretName"] == "pubsubgo-peer-tls"
                })
            })
            .and_then(|m| m["mountPath"].as_str())
            .expect("the pubsubgo-peer-tls Secret is mounted");
    for (setting, file) in [
        ("PUBSUB_PEER_TLS_CERT_FILE", "tls.crt"),
        ("PUBSUB_PEER_TLS_KEY_FILE", "tls.key"),
        ("PUBSUB_PEER_TLS_CA_FILE", "ca.crt"),
    ] {
        assert_eq!(
            env_value(&env, setting),
            Some(format!("{}/{file}", peer_tls_mount.trim_end_matches('/')).as_str()),
            "{setting}"
        );
    }
    assert_eq!(sources_of(metrics_port), vec![from_pods("prometheus")]);
    let opened = container_ports(container);
    assert_eq!(policy_ports(policy), opened, "every port is covered");
    assert_eq!(
        opened,
        BTreeSet::from([client_port, peer_port, metrics_port, grpc_port])
    );

    tracing::info!("stopping fits in the grace period; the pod runs locked down");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let server_grace = port(&env, "PUBSUB_SHUTDOWN_GRACE_SECONDS");
    assert!(
        pre_stop + server_grace + 15 <= grace,
        "preStop {pre_stop} s + shutdown grace {server_grace} s + hand-over fit in {grace} s"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        env_value(&env, "PUBSUB_DATA_DIR"),
        container["volumeMounts"]
            .as_array()
            .and_then(|mounts| mounts.iter().find(|m| m["name"] == "data"))
            .and_then(|m| m["mountPath"].as_str()),
        "the Raft data lives on the volume"
    );
    tracing::info!("TLS and authentication are on, their files from Secret volumes");
    assert_eq!(env_value(&env, "PUBSUB_AUTH_ENABLED"), Some("true"));
    let secret_mount = |variable: &str| {
        let file = env_value(&env, variable).unwrap_or_else(|| panic!("{variable} is set"));
        let mount = container["volumeMounts"]
            .as_array()
            .and_then(|mounts| {
                mounts.iter().find(|m| {
                    m["mountPath"]
                        .as_str()
                        .is_some_and(|path| file.starts_with(&format!("{path}/")))
                })
            })
            .unwrap_or_else(|| panic!("{variable}={file} is on a mounted volume"));
        let volume = pod["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
            .expect("the mount's volume");
        volume["secret"]["secretName"].as_str().map(str::to_owned)
    };
    for variable in [
        "PUBSUB_TLS_CERT_FILE",
        "PUBSUB_TLS_KEY_FILE",
        "PUBSUB_AUTH_API_KEYS_FILE",
        "PUBSUB_AUTH_POLICY_FILE",
    ] {
        assert!(
            secret_mount(variable).is_some(),
            "{variable} comes from a Secret"
        );
    }
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        assert_eq!(container[probe]["httpGet"]["scheme"], "HTTPS", "{probe}");
    }
    assert!(
        rendered.all("Secret").is_empty(),
        "secrets are referenced, never committed"
    );
    assert_named_services_exist(&rendered, &env);
}

#[test_log::test]
fn the_development_overlay_is_one_node_behind_svc_dev_pubsubgo() {
    let rendered = Rendered::overlay("development");
    let sts = rendered.one("StatefulSet", "dev-pubsubgo");
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(sts["metadata"]["namespace"], "pubsubgo-dev");
    let env = rendered.pod_environment(sts, "dev-pubsubgo-0", &BTreeMap::from(TEST_SECRETS));
    let peers = parse_peers(env_value(&env, "PUBSUB_PEERS").unwrap_or_default()).expect("peers");
    assert!(peers.is_empty(), "a single-node group");
    assert_eq!(
        rendered.one("Service", "dev-pubsubgo")["spec"]["ports"][0]["port"],
        8080
    );
    assert!(
        rendered.all("PodDisruptionBudget").is_empty(),
        "no budget that would block drains of the only pod"
    );
    assert_named_services_exist(&rendered, &env);
}

#[test_log::test]
fn the_validation_script_fails_on_broken_manifests() {
    let copy = tempfile::tempdir().expect("temp dir");
    let root = copy.path().join("deployments");
    let fixtures = repo().join("node/tests/deployment/fixtures");
    let cp = |from: &std::path::Path, to: &std::path::Path| {
        let status = Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .expect("cp");
        assert!(status.success());
    };
    cp(&repo().join("deployments"), &root);
    cp(
        &fixtures.join("broken-overlay"),
        &root.join("kubernetes/overlays/broken"),
    );
    cp(&fixtures.join("broken-istio.yaml"), &root.join("istio"));

    let output = Command::new(repo().join("tests/tools/validate-deployments"))
        .arg("--root")
        .arg(&root)
        .output()
        .expect("validate-deployments runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{report}");
    for line in [
        "FAIL kubernetes-validate --strict overlay broken (Kubernetes 1.30.0)",
        "FAIL Istio resources against Istio's CRD schemas",
        "ok   kubernetes-validate --strict overlay production (Kubernetes 1.30.0)",
    ] {
        assert!(report.lines().any(|l| l == line), "{line:?} in:\n{report}");
    }
    assert!(
        report.contains("serviceNme"),
        "the reason is shown:\n{report}"
    );
    assert!(
        report.contains("FASTEST") || report.contains("allowed values"),
        "{report}"
    );
    let last = report.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" failed") && !last.ends_with(" 0 failed"),
        "closing line {last:?}"
    );
}

//! A kustomize overlay rendered by the pinned `kubectl kustomize`
//! (`tests/tools/deployment-tools`), as JSON values, and the environment a pod
//! of its StatefulSet gets, computed as the kubelet does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("node/ has a parent")
        .to_owned()
}

/// Runs `tests/tools/deployment-tools` with `args` (it installs the pinned
/// validators on first use) and returns its output.
pub fn deployment_tools(args: &[&str]) -> std::process::Output {
    Command::new(repo().join("tests/tools/deployment-tools"))
        .args(args)
        .output()
        .expect("tests/tools/deployment-tools runs")
}

/// Every object of one rendered overlay.
#[derive(Debug)]
pub struct Rendered {
    pub objects: Vec<Value>,
}

impl Rendered {
    /// Renders `deployments/kubernetes/overlays/<overlay>`.
    pub fn overlay(overlay: &str) -> Self {
        let dir = repo().join("deployments/kubernetes/overlays").join(overlay);
        let output = deployment_tools(&["kubectl", "kustomize", &dir.display().to_string()]);
        assert!(
            output.status.success(),
            "kubectl kustomize {overlay}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8 YAML");
        let objects: Vec<Value> =
            serde_saphyr::from_multiple(&text).expect("kustomize renders YAML documents");
        Self { objects }
    }

    /// Every object of `kind`.
    pub fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The one object of `kind` named `name`.
    pub fn one(&self, kind: &str, name: &str) -> &Value {
        let found: Vec<_> = self
            .all(kind)
            .into_iter()
            .filter(|o| o["metadata"]["name"] == name)
            .collect();
        assert_eq!(found.len(), 1, "one {kind} named {name}");
        found[0]
    }

    /// The environment of `container` in pod `pod` of `statefulset`, as the
    /// kubelet builds it: `envFrom` ConfigMaps first, then `env` in order, with
    /// `$(VAR)` in values expanded from the variables before them, the downward
    /// API's `metadata.name`/`metadata.namespace`, and Secret keys from `secrets`
    /// (a Secret's name and key to the value a test chose).
    pub fn pod_environment(
        &self,
        statefulset: &Value,
        pod: &str,
        secrets: &BTreeMap<(&str, &str), &str>,
    ) -> Vec<(String, String)> {
        let container = &statefulset["spec"]["template"]["spec"]["containers"][0];
        let namespace = statefulset["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let mut vars: Vec<(String, String)> = Vec::new();
        let set = |vars: &mut Vec<(String, String)>, name: &str, value: String| {
            vars.retain(|(n, _)| n != name);
            vars.push((name.to_owned(), value));
        };
        for source in container["envFrom"].as_array().into_iter().flatten() {
            let name = source["configMapRef"]["name"]
                .as_str()
                .expect("envFrom names a ConfigMap");
            let data = &self.one("ConfigMap", name)["data"];
            for (key, value) in data.as_object().expect("ConfigMap data") {
                set(&mut vars, key, value.as_str().expect("string").to_owned());
            }
        }
        for entry in container["env"].as_array().into_iter().flatten() {
            let name = entry["name"].as_str().expect("env name");
            let from = &entry["valueFrom"];
            let value = if let Some(value) = entry["value"].as_str() {
                expand(value, &vars)
            } else if let Some(field) = from["fieldRef"]["fieldPath"].as_str() {
                match field {
                    "metadata.name" => pod.to_owned(),
                    "metadata.namespace" => namespace.to_owned(),
                    other => panic!("downward API field {other} is not emulated"),
                }
            } else if from["secretKeyRef"].is_object() {
                let secret = from["secretKeyRef"]["name"].as_str().expect("secret name");
                let key = from["secretKeyRef"]["key"].as_str().expect("secret key");
                (*secrets
                    .get(&(secret, key))
                    .unwrap_or_else(|| panic!("no test value for secret {secret} key {key}")))
                .to_owned()
            } else {
                panic!("env {name}: value source {from} is not emulated")
            };
            set(&mut vars, name, value);
        }
        vars
    }
}

/// Kubernetes' `$(VAR)` expansion: a defined variable is replaced, `$$` is a
/// literal `$`, anything else stays as written.
fn expand(value: &str, vars: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some((_, found)) = vars.iter().find(|(n, _)| n == &inner[..end])
        {
            out.push_str(found);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The ports a container declares.
pub fn container_ports(container: &Value) -> BTreeSet<u64> {
    container["ports"]
        .as_array()
        .expect("container ports")
        .iter()
        .filter_map(|p| p["containerPort"].as_u64())
        .collect()
}

/// The ports a NetworkPolicy's ingress rules let in.
pub fn policy_ports(policy: &Value) -> BTreeSet<u64> {
    policy["spec"]["ingress"]
        .as_array()
        .expect("ingress rules")
        .iter()
        .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_u64())
        .collect()
}

/// The value of `name` in an environment.
pub fn env_value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test_log::test]
fn expansion_follows_kubernetes() {
    let vars = vec![("POD_NAME".to_owned(), "pubsubgo-1".to_owned())];
    assert_eq!(
        expand("$(POD_NAME).pubsubgo-headless:8082", &vars),
        "pubsubgo-1.pubsubgo-headless:8082"
    );
    assert_eq!(
        expand("$(MISSING)/$$(POD_NAME)", &vars),
        "$(MISSING)/$(POD_NAME)"
    );
}

//! Three primaries with one replica each, made by `redis-cli --cluster create`;
//! optionally also listening with TLS.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{READY_WITHIN, RedisServer, free_port};

/// Three primaries with one replica each.
#[derive(Debug)]
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    /// Each node's TLS port, in the order of `nodes`; empty without TLS.
    pub tls_ports: Vec<u16>,
}

impl RedisCluster {
    pub fn start() -> Self {
        Self::start_with(Vec::new)
    }

    /// Like [`RedisCluster::start`], but every node also serves TLS with
    /// `cert` and `key` on a port of its own (`tls_ports`) and speaks TLS on
    /// the cluster bus and to its replicas, trusting `ca`. Clients need no
    /// certificate of their own. The plain ports stay open for the harness.
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> Self {
        let mut tls_ports = Vec::new();
        let (cert, key, ca) = (cert.display(), key.display(), ca.display());
        let mut cluster = Self::start_with(|| {
            let port = free_port();
            tls_ports.push(port);
            [
                "--tls-port".to_owned(),
                port.to_string(),
                "--tls-cert-file".to_owned(),
                cert.to_string(),
                "--tls-key-file".to_owned(),
                key.to_string(),
                "--tls-ca-cert-file".to_owned(),
                ca.to_string(),
                "--tls-auth-clients".to_owned(),
                "no".to_owned(),
                "--tls-cluster".to_owned(),
                "yes".to_owned(),
                "--tls-replication".to_owned(),
                "yes".to_owned(),
            ]
            .into()
        });
        cluster.tls_ports = tls_ports;
        cluster
    }

    /// Starts six nodes, each with the arguments `extra` gives it, and joins
    /// them into a cluster over their plain ports.
    fn start_with(mut extra: impl FnMut() -> Vec<String>) -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|i| {
                let bus = free_port().to_string();
                let mut args: Vec<String> = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                    "--cluster-port",
                    &bus,
                    "--appendonly",
                    "no",
                ]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
                args.extend(extra());
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                RedisServer::on_a_free_port(&format!("cluster-{i}"), &args)
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        for node in &nodes {
            node.wait_until(|reply| reply.contains("cluster_state:ok"), "CLUSTER INFO");
        }
        Self {
            nodes,
            tls_ports: Vec::new(),
        }
    }

    /// The port of the primary serving `slot` and, once attached, of its replica,
    /// as `CLUSTER NODES` on the first node reports them; waits (up to
    /// `READY_WITHIN`) while no healthy primary serves the slot, as during a
    /// failover.
    pub fn primary_and_replica(&self, slot: u16) -> (u16, Option<u16>) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(found) = self.try_primary_and_replica(slot) {
                return found;
            }
            assert!(Instant::now() < deadline, "no primary serves slot {slot}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_primary_and_replica(&self, slot: u16) -> Option<(u16, Option<u16>)> {
        let nodes = self.nodes[0].command("CLUSTER NODES");
        let port_of = |address: &str| -> u16 {
            address
                .split(['@', ':'])
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("node port")
        };
        let serves = |ranges: &[&str]| {
            ranges.iter().any(|r| {
                let (from, to) = r.split_once('-').unwrap_or((r, r));
                matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(f), Ok(t)) if (f..=t).contains(&slot))
            })
        };
        let lines: Vec<Vec<&str>> = nodes
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let primary = lines.iter().find(|f| {
            f.len() > 8 && f[2].contains("master") && !f[2].contains("fail") && serves(&f[8..])
        })?;
        let replica = lines
            .iter()
            .find(|f| f.len() > 3 && f[2].contains("slave") && f[3] == primary[0])
            .map(|f| port_of(f[1]));
        Some((port_of(primary[1]), replica))
    }

    /// Waits until `slot`'s primary has a replica that finished its first sync
    /// (only such a replica can be promoted); returns both ports.
    pub fn primary_with_synced_replica(&self, slot: u16) -> (u16, u16) {
        let give_up = Instant::now() + Duration::from_secs(30);
        let (primary, replica) = loop {
            if let (primary, Some(replica)) = self.primary_and_replica(slot) {
                break (primary, replica);
            }
            assert!(
                Instant::now() < give_up,
                "no replica attached to the primary"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.nodes
            .iter()
            .find(|n| n.port == replica)
            .expect("replica node")
            .wait_until(
                |info| info.contains("master_link_status:up"),
                "INFO replication",
            );
        (primary, replica)
    }

    /// The hash slot of `key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        self.nodes[0]
            .command(&format!("CLUSTER KEYSLOT {key}"))
            .trim()
            .trim_start_matches(':')
            .parse()
            .expect("slot")
    }

    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect()
    }

    /// The nodes' TLS ports as `rediss://` seeds (empty without TLS).
    pub fn tls_seeds(&self) -> Vec<String> {
        self.tls_ports
            .iter()
            .map(|port| format!("rediss://127.0.0.1:{port}"))
            .collect()
    }
}

//! [`Procs`]: the run's real processes, each started inside its namespace with
//! `ip netns exec` (which execs, so the child's pid is the process's own):
//! `redis-server` and N `pubsubgo-server` nodes, their output appended to
//! `DIR/logs/<name>.log` across restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;

use anyhow::{Context, Result};

use crate::net::{self, REDIS};
use crate::redis_cluster::{self, RedisCluster};

/// Redis's port inside its namespace.
pub const REDIS_PORT: u16 = 7000;
/// A node's client port inside its namespace.
pub const CLIENT_PORT: u16 = 8081;
/// A node's peer port inside its namespace.
pub const PEER_PORT: u16 = 8082;

/// The processes of one run.
#[derive(Debug)]
pub struct Procs {
    server: PathBuf,
    dir: PathBuf,
    nodes: u64,
    /// Extra environment for every node (a test-only break, say).
    node_env: Vec<(String, String)>,
    running: BTreeMap<u64, Child>,
    redis: Option<Child>,
    /// The Redis Cluster, when the run uses one instead of `redis`.
    cluster: Option<RedisCluster>,
}

impl Procs {
    pub fn new(server: PathBuf, dir: &Path, nodes: u64, node_env: Vec<(String, String)>) -> Self {
        Self {
            server,
            dir: dir.to_owned(),
            nodes,
            node_env,
            running: BTreeMap::new(),
            redis: None,
            cluster: None,
        }
    }

    fn spawn(
        &self,
        namespace: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &str,
    ) -> Result<Child> {
        net::spawn_in(namespace, program, args, env, &self.dir, log)
    }

    /// Starts Redis: AOF with `appendfsync always`, so `fsynced` topics can exist.
    pub fn start_redis(&mut self) -> Result<()> {
        let dir = self.dir.join("redis");
        std::fs::create_dir_all(&dir)?;
        let args: Vec<String> = [
            "--port",
            &REDIS_PORT.to_string(),
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "no",
            "--dir",
            &dir.to_string_lossy(),
        ]
        .into_iter()
        .chain(redis_cluster::AOF_ALWAYS)
        .map(str::to_owned)
        .collect();
        self.redis = Some(self.spawn("redis", Path::new("redis-server"), &args, &[], "redis")?);
        Ok(())
    }

    /// Starts the Redis Cluster (`redis_cluster`) instead of the standalone
    /// Redis; nodes started after this use it.
    pub fn start_redis_cluster(&mut self) -> Result<()> {
        self.cluster = Some(RedisCluster::start(&self.dir)?);
        Ok(())
    }

    /// The Redis Cluster, when the run has one.
    pub fn redis_cluster(&mut self) -> Option<&mut RedisCluster> {
        self.cluster.as_mut()
    }

    /// A node's data directory.
    pub fn data_dir(&self, node: u64) -> PathBuf {
        self.dir.join("data").join(format!("node-{node}"))
    }

    /// Starts node `node` (again, after a kill) on its data directory.
    pub fn start(&mut self, node: u64) -> Result<()> {
        self.start_with(node, &[])
    }

    /// Starts node `node` with `extra` environment besides the run's.
    pub fn start_with(&mut self, node: u64, extra: &[(String, String)]) -> Result<()> {
        let peers: Vec<String> = (1..=self.nodes)
            .map(|n| format!("{n}={}:{PEER_PORT}", net::address(n)))
            .collect();
        let mut env: Vec<(String, String)> = [
            ("PUBSUB_NODE_ID", node.to_string()),
            ("PUBSUB_PEERS", peers.join(",")),
            ("PUBSUB_PEER_PORT", PEER_PORT.to_string()),
            ("PUBSUB_SERVER_PORT", CLIENT_PORT.to_string()),
            (
                "PUBSUB_DATA_DIR",
                self.data_dir(node).to_string_lossy().into_owned(),
            ),
            ("PUBSUB_STORAGE", "redis".to_owned()),
            ("PUBSUB_REDIS_URL", format!("redis://{REDIS}:{REDIS_PORT}")),
            ("PUBSUB_OWNER_TIMEOUT_SECONDS", "3".to_owned()),
            ("PUBSUB_SHUTDOWN_GRACE_SECONDS", "1".to_owned()),
            ("PUBSUB_LOG_FORMAT", "json".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if self.cluster.is_some() {
            env.retain(|(k, _)| k != "PUBSUB_REDIS_URL");
            env.push((
                "PUBSUB_REDIS_CLUSTER_NODES".to_owned(),
                redis_cluster::seeds(),
            ));
        }
        env.extend(self.node_env.iter().cloned());
        env.extend(extra.iter().cloned());
        let child = self.spawn(
            &net::namespace(node),
            &self.server,
            &[],
            &env,
            &format!("node-{node}"),
        )?;
        self.running.insert(node, child);
        Ok(())
    }

    /// Whether node `node` has a process.
    pub fn is_running(&self, node: u64) -> bool {
        self.running.contains_key(&node)
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`) to node `node`; a killed
    /// node's process is reaped.
    pub fn signal(&mut self, node: u64, signal: &str) -> Result<()> {
        let Some(child) = self.running.get_mut(&node) else {
            return Ok(());
        };
        let pid = child.id().to_string();
        crate::sandbox::run("kill", &[&format!("-{signal}"), &pid])?;
        if signal == "KILL" {
            let _ = child.wait();
            self.running.remove(&node);
        }
        Ok(())
    }

    /// Whether node `node` has no process any more: never started, killed,
    /// or exited by itself (then reaped, and its exit status returned).
    pub fn try_exit(&mut self, node: u64) -> Result<(bool, Option<std::process::ExitStatus>)> {
        let Some(child) = self.running.get_mut(&node) else {
            return Ok((true, None));
        };
        let status = child.try_wait().context("waiting for a node")?;
        if status.is_some() {
            self.running.remove(&node);
        }
        Ok((status.is_some(), status))
    }

    /// Sends `signal` to every running node.
    pub fn signal_all(&mut self, signal: &str) -> Result<()> {
        let nodes: Vec<u64> = self.running.keys().copied().collect();
        for node in nodes {
            self.signal(node, signal)?;
        }
        Ok(())
    }

    /// Kills every process (the sandbox would too; this keeps logs complete).
    pub fn stop_all(&mut self) {
        let _ = self.signal_all("CONT");
        let _ = self.signal_all("KILL");
        if let Some(mut redis) = self.redis.take() {
            let _ = redis.kill();
            let _ = redis.wait();
        }
        if let Some(cluster) = &mut self.cluster {
            cluster.stop_all();
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop_all();
    }
}

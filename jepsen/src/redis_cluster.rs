//! [`RedisCluster`]: the Redis Cluster of the `redis-failover` scenario: three
//! primaries with one replica each, six `redis-server` processes, each in a
//! network namespace of its own (`r1` … `r6`, 10.77.0.101 … 106, port 7000,
//! cluster bus 17000) joined to the run's bridge, announcing that address.
//! `redis-cli --cluster create` makes the cluster; a shard's primary is
//! found with `CLUSTER NODES`. The fault kills a shard's primary with
//! `kill -9`, so its replica is promoted (an unplanned failover), and restarts
//! the old process on its own directory, where it rejoins as the new
//! primary's replica.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::net;

/// Redis processes in the cluster: three primaries, three replicas.
pub const SIZE: u64 = 6;
/// Shards (primaries).
pub const SHARDS: u64 = 3;
/// Each Redis's client port inside its namespace.
const PORT: u16 = 7000;
/// A Redis node's cluster-node-timeout: a primary silent this long is
/// marked failed and its replica starts an election.
const NODE_TIMEOUT_MS: u64 = 2_000;
/// Every Redis of a run (standalone or in the cluster) appends each write to
/// its AOF and syncs it before answering, so `fsynced` topics can exist and a
/// `kill -9` loses nothing acknowledged; no RDB snapshots.
pub const AOF_ALWAYS: [&str; 6] = [
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
];
/// One slot of each shard as `redis-cli --cluster create` splits the 16,384.
const SHARD_SLOTS: [u16; 3] = [0, 5_461, 10_923];

/// The namespace of Redis `i` (1-based).
pub fn namespace(i: u64) -> String {
    format!("r{i}")
}

/// The address of Redis `i` (1-based).
pub fn address(i: u64) -> String {
    format!("10.77.0.{}", 100 + i)
}

/// Every Redis's `host:port`, as the brokers' `PUBSUB_REDIS_CLUSTER_NODES`.
pub fn seeds() -> String {
    (1..=SIZE)
        .map(|i| format!("{}:{PORT}", address(i)))
        .collect::<Vec<_>>()
        .join(",")
}

/// The six processes of one run.
#[derive(Debug)]
pub struct RedisCluster {
    dir: PathBuf,
    running: BTreeMap<u64, Child>,
    /// The shard failed over last and the Redis killed, until restarted.
    failed_over: Option<(u64, u64)>,
}

impl RedisCluster {
    /// Joins six namespaces to the bridge, starts a `redis-server` in each
    /// (cluster mode, AOF with `appendfsync always` so `fsynced` topics can
    /// exist) and makes the cluster; waits until every node says
    /// `cluster_state:ok` and each primary has its replica.
    pub fn start(dir: &Path) -> Result<Self> {
        for i in 1..=SIZE {
            net::attach(&namespace(i), &address(i), 100 + i)?;
        }
        let mut cluster = Self {
            dir: dir.to_owned(),
            running: BTreeMap::new(),
            failed_over: None,
        };
        for i in 1..=SIZE {
            cluster.start_one(i)?;
        }
        cluster.wait("every Redis answers PING", Duration::from_secs(15), |c| {
            (1..=SIZE).all(|i| c.cli(i, &["PING"]).is_some_and(|r| r.trim() == "PONG"))
        })?;
        let nodes: Vec<String> = (1..=SIZE)
            .map(|i| format!("{}:{PORT}", address(i)))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .context("running redis-cli --cluster create")?;
        if !output.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        cluster.wait_healthy(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Starts Redis `i` (again) on its directory: its AOF and `nodes.conf`.
    fn start_one(&mut self, i: u64) -> Result<()> {
        let dir = self.dir.join("redis").join(format!("r{i}"));
        std::fs::create_dir_all(&dir)?;
        let timeout = NODE_TIMEOUT_MS.to_string();
        let port = PORT.to_string();
        let address = address(i);
        let dir_arg = dir.to_string_lossy();
        let mut args = vec![
            "--port",
            &port,
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "no",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            &timeout,
            "--cluster-announce-ip",
            &address,
            // A replica's full sync starts at once, not after 5 s (the default).
            "--repl-diskless-sync-delay",
            "0",
            "--dir",
            &dir_arg,
        ];
        args.extend(AOF_ALWAYS);
        let child = net::spawn_in(
            &namespace(i),
            "redis-server",
            &args,
            &[],
            &self.dir,
            &format!("redis-{i}"),
        )?;
        self.running.insert(i, child);
        Ok(())
    }

    /// `redis-cli` against Redis `i`: its reply, or none when it did not answer.
    fn cli(&self, i: u64, args: &[&str]) -> Option<String> {
        let output = Command::new("redis-cli")
            .args(["-h", &address(i), "-p", &PORT.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn wait(&self, what: &str, limit: Duration, ready: impl Fn(&Self) -> bool) -> Result<()> {
        let deadline = Instant::now() + limit;
        while !ready(self) {
            if Instant::now() > deadline {
                bail!("Redis Cluster: {what} not within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// `CLUSTER NODES` as some running Redis sees it.
    fn nodes(&self) -> Option<Vec<Node>> {
        let reply = self
            .running
            .keys()
            .find_map(|&i| self.cli(i, &["CLUSTER", "NODES"]))?;
        Some(reply.lines().filter_map(Node::parse).collect())
    }

    /// The Redis (1-based) that is the healthy primary of shard `shard`
    /// (1-based), if one is.
    pub fn primary(&self, shard: u64) -> Option<u64> {
        let slot = SHARD_SLOTS[((shard.max(1) - 1) % SHARDS) as usize];
        self.nodes()?
            .into_iter()
            .find(|n| n.primary && !n.failed && n.serves(slot))
            .map(|n| n.redis)
    }

    /// Whether the cluster is whole: every Redis running and saying
    /// `cluster_state:ok`, three healthy primaries, each with a replica
    /// whose link to it is up.
    pub fn healthy(&self) -> bool {
        if self.running.len() as u64 != SIZE {
            return false;
        }
        let ok = (1..=SIZE).all(|i| {
            self.cli(i, &["CLUSTER", "INFO"])
                .is_some_and(|r| r.contains("cluster_state:ok"))
        });
        let Some(nodes) = self.nodes().filter(|_| ok) else {
            return false;
        };
        let primaries = nodes.iter().filter(|n| n.primary && !n.failed).count();
        primaries as u64 == SHARDS
            && nodes.iter().all(|n| !n.failed)
            && nodes.iter().filter(|n| !n.primary).all(|n| {
                self.cli(n.redis, &["INFO", "replication"])
                    .is_some_and(|r| r.contains("master_link_status:up"))
            })
    }

    /// Waits until [`RedisCluster::healthy`].
    pub fn wait_healthy(&self, limit: Duration) -> Result<()> {
        self.wait("healthy", limit, Self::healthy)
    }

    /// `kill -9` the primary of `shard`; returns which Redis it was.
    pub fn kill_primary(&mut self, shard: u64) -> Result<u64> {
        let redis = self
            .primary(shard)
            .with_context(|| format!("no healthy primary of shard {shard}"))?;
        if let Some(mut child) = self.running.remove(&redis) {
            crate::sandbox::run("kill", &["-KILL", &child.id().to_string()])?;
            let _ = child.wait();
        }
        self.failed_over = Some((shard, redis));
        Ok(redis)
    }

    /// Undoes [`RedisCluster::kill_primary`]: waits (up to `limit`) until
    /// another Redis is the healthy primary of the shard, then restarts the
    /// killed one on its directory, where it rejoins as that primary's
    /// replica. Returns the Redis restarted and whether the promotion was
    /// seen (if not, the old primary comes back with its AOF and stays
    /// primary); none when nothing was killed.
    pub fn restore(&mut self, limit: Duration) -> Result<Option<(u64, bool)>> {
        let Some((shard, killed)) = self.failed_over.take() else {
            return Ok(None);
        };
        let promoted = self
            .wait("a replica promoted", limit, |c| {
                c.primary(shard).is_some_and(|p| p != killed)
            })
            .is_ok();
        self.start_one(killed)?;
        Ok(Some((killed, promoted)))
    }

    /// Restarts every Redis that is not running.
    pub fn restart_dead(&mut self) -> Result<()> {
        self.failed_over = None;
        for i in 1..=SIZE {
            if !self.running.contains_key(&i) {
                self.start_one(i)?;
            }
        }
        Ok(())
    }

    /// Kills every Redis (the sandbox would too; this keeps logs complete).
    pub fn stop_all(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.running) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct Node {
    /// Which Redis (1-based), from its announced address.
    redis: u64,
    primary: bool,
    failed: bool,
    slots: Vec<(u16, u16)>,
}

impl Node {
    fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let host = fields.get(1)?.split([':', '@']).next()?;
        let redis = host
            .strip_prefix("10.77.0.")?
            .parse::<u64>()
            .ok()?
            .checked_sub(100)?;
        let flags = fields.get(2)?;
        let slots = fields
            .iter()
            .skip(8)
            .filter(|f| !f.starts_with('['))
            .filter_map(|r| {
                let (from, to) = r.split_once('-').unwrap_or((r, r));
                Some((from.parse().ok()?, to.parse().ok()?))
            })
            .collect();
        Some(Self {
            redis,
            primary: flags.contains("master"),
            failed: flags.contains("fail") || fields.get(7) == Some(&"disconnected"),
            slots,
        })
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots
            .iter()
            .any(|&(from, to)| (from..=to).contains(&slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test_log::test]
    fn cluster_nodes_lines_are_read() {
        let primary =
            Node::parse("07c3 10.77.0.102:7000@17000 myself,master - 0 0 2 connected 5461-10922")
                .expect("a primary");
        assert_eq!(primary.redis, 2);
        assert!(primary.primary && !primary.failed);
        assert!(primary.serves(5_461) && primary.serves(10_922) && !primary.serves(0));
        let dead = Node::parse("e1f2 10.77.0.101:7000@17000 master,fail - 1 1 1 connected 0-5460")
            .expect("a failed primary");
        assert!(dead.failed && dead.serves(0));
        let replica =
            Node::parse("aa 10.77.0.105:7000@17000 slave 07c3 0 5 2 connected").expect("a replica");
        assert!(!replica.primary && replica.slots.is_empty());
        assert_eq!(seeds().split(',').count() as u64, SIZE);
    }
}

//! A Raft group of in-process nodes on loopback ports, each with its own data
//! directory, that tests can stop and restart.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cluster::{Command, TopicConfig, TopicName};
use raft::{Consensus, ConsensusConfig, NodeId, Role};
use tempfile::TempDir;
use tokio::net::TcpListener;

/// Long enough for elections on a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(15);

/// How a test cluster is laid out and timed.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes `1..=listed` are in every node's peer list.
    pub listed: u64,
    /// Nodes `1..=started` start at once; the others when a test says.
    pub started: u64,
    pub bootstrap_expect: Option<usize>,
    pub snapshot_after_entries: u64,
    pub election_timeout: (Duration, Duration),
}

impl Options {
    /// `size` nodes, all listed and started, with short timings.
    pub fn new(size: u64) -> Self {
        Self {
            listed: size,
            started: size,
            bootstrap_expect: None,
            snapshot_after_entries: 1_000,
            election_timeout: (Duration::from_millis(500), Duration::from_millis(1_000)),
        }
    }
}

pub struct TestCluster {
    nodes: BTreeMap<NodeId, Option<Consensus>>,
    dirs: BTreeMap<NodeId, TempDir>,
    addrs: BTreeMap<NodeId, SocketAddr>,
    options: Options,
}

impl TestCluster {
    /// Starts nodes `1..=size` and waits until they agree on a leader.
    pub async fn start(size: u64, snapshot_after_entries: u64) -> anyhow::Result<Self> {
        Self::start_with(Options {
            snapshot_after_entries,
            ..Options::new(size)
        })
        .await
    }

    /// Lists nodes `1..=options.listed`, starts `1..=options.started` and
    /// waits until they agree on a leader.
    pub async fn start_with(options: Options) -> anyhow::Result<Self> {
        let mut listeners = BTreeMap::new();
        for n in 1..=options.listed {
            listeners.insert(id(n), TcpListener::bind("127.0.0.1:0").await?);
        }
        let mut cluster = Self {
            nodes: BTreeMap::new(),
            dirs: BTreeMap::new(),
            addrs: listeners
                .iter()
                .map(|(&id, l)| Ok((id, l.local_addr()?)))
                .collect::<std::io::Result<_>>()?,
            options,
        };
        for (id, listener) in listeners {
            cluster.dirs.insert(id, TempDir::new()?);
            // A node not started yet must refuse connections, not leave them
            // hanging in a backlog: drop its listener and bind again on start.
            if id.get() <= cluster.options.started {
                let node = Consensus::start_on(cluster.config(id), listener).await?;
                cluster.nodes.insert(id, Some(node));
            }
        }
        cluster.agreed_leader().await?;
        Ok(cluster)
    }

    fn config(&self, id: NodeId) -> ConsensusConfig {
        let mut config = ConsensusConfig::new(id, self.dirs[&id].path(), self.addrs[&id]);
        if self.addrs.len() > 1 {
            config.peers = self
                .addrs
                .iter()
                .map(|(&id, addr)| (id, addr.to_string()))
                .collect();
        }
        config.bootstrap_expect = self.options.bootstrap_expect;
        config.heartbeat = Duration::from_millis(100);
        config.election_timeout = self.options.election_timeout;
        config.snapshot_after_entries = self.options.snapshot_after_entries;
        config.log_entries_kept_after_snapshot = 0;
        config.membership_timeout = WAIT;
        config
    }

    /// Starts a pristine node `id` that no other node lists and that does not
    /// join on its own: its peer list names only itself and an unreachable
    /// node, both needed to form a group. Returns its peer address.
    pub async fn start_outsider(&mut self, id: NodeId) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let dir = TempDir::new()?;
        let mut config = ConsensusConfig::new(id, dir.path(), addr);
        // Port 1 on loopback refuses connections at once.
        config.peers = BTreeMap::from([
            (id, addr.to_string()),
            (NodeId::new(id.get() + 1), "127.0.0.1:1".to_owned()),
        ]);
        config.heartbeat = Duration::from_millis(100);
        config.election_timeout = self.options.election_timeout;
        let node = Consensus::start_on(config, listener).await?;
        self.dirs.insert(id, dir);
        self.nodes.insert(id, Some(node));
        Ok(addr.to_string())
    }

    pub fn node(&self, id: NodeId) -> &Consensus {
        self.nodes[&id].as_ref().expect("node is running")
    }

    pub fn running(&self) -> impl Iterator<Item = &Consensus> {
        self.nodes.values().flatten()
    }

    /// Some running node other than the leader.
    pub fn follower(&self, leader: NodeId) -> NodeId {
        self.running()
            .map(Consensus::node_id)
            .find(|&id| id != leader)
            .expect("a follower is running")
    }

    /// Waits until every running node names the same leader, which knows it leads.
    pub async fn agreed_leader(&self) -> anyhow::Result<NodeId> {
        let deadline = Instant::now() + WAIT;
        let first = self.running().next().context("no node is running")?;
        let mut candidate = first
            .wait_until(remaining(deadline)?, |m| m.leader.is_some())
            .await?
            .leader
            .context("leader vanished")?;
        'settle: loop {
            for node in self.running() {
                let id = node.node_id();
                let agrees = |m: &raft::ConsensusMetrics| {
                    m.leader == Some(candidate) && (id != candidate || m.role == Role::Leader)
                };
                let patience = remaining(deadline)?.min(Duration::from_secs(3));
                if node.wait_until(patience, agrees).await.is_err() {
                    // Views differ while an election settles: follow this node's view.
                    candidate = node
                        .wait_until(remaining(deadline)?, |m| m.leader.is_some())
                        .await?
                        .leader
                        .context("leader vanished")?;
                    continue 'settle;
                }
            }
            return Ok(candidate);
        }
    }

    pub async fn stop(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id).and_then(Option::take) {
            node.shutdown().await;
        }
    }

    /// Stops node `id` without handing leadership over, as a crash would.
    pub async fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id).and_then(Option::take) {
            node.halt().await;
        }
    }

    /// Starts node `id` (again) on its address and data directory.
    pub async fn restart(&mut self, id: NodeId) -> anyhow::Result<&Consensus> {
        let listener = TcpListener::bind(self.addrs[&id]).await?;
        let node = Consensus::start_on(self.config(id), listener).await?;
        Ok(self.nodes.entry(id).or_default().insert(node))
    }

    /// Replaces the data directory of stopped node `id` with an empty one, as
    /// if its disk were lost.
    pub fn wipe(&mut self, id: NodeId) -> anyhow::Result<()> {
        if self.nodes.get(&id).is_some_and(Option::is_some) {
            bail!("node {id} is running");
        }
        self.dirs.insert(id, TempDir::new()?);
        Ok(())
    }

    pub async fn shutdown(mut self) {
        let ids: Vec<_> = self.nodes.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }
}

fn remaining(deadline: Instant) -> anyhow::Result<Duration> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => bail!("the cluster did not settle within {WAIT:?}"),
    }
}

/// Polls `condition` until it holds, at most [`WAIT`]; for state that is
/// computed when asked (like contact ages) rather than pushed as metrics.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        if Instant::now() >= deadline {
            bail!("{what} did not happen within {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Node `n`.
pub fn id(n: u64) -> NodeId {
    NodeId::new(n)
}

/// The set of nodes `ns`, as Raft metrics name voters.
pub fn ids<const N: usize>(ns: [u64; N]) -> BTreeSet<NodeId> {
    ns.into_iter().map(id).collect()
}

pub fn topic(name: &str) -> TopicName {
    TopicName::new(name).expect("valid topic name")
}

pub fn create_topic(name: &str) -> Command {
    Command::CreateTopic {
        name: topic(name),
        config: TopicConfig::default(),
        at_millis: 1,
    }
}

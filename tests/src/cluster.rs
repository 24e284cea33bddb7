//! [`TestCluster`]: N in-process nodes that know each other.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use api::client::Client;
use cluster::NodeId;
use node::config::{Args, Config, StorageKind};
use node::instance::{Instance, Listeners};
use tempfile::TempDir;
use tokio::net::TcpListener;

use crate::fault_proxy::{Fault, FaultProxy};
use crate::redis;

/// Where the cluster keeps messages.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Each node's own memory: a killed node's messages are gone.
    Memory,
    /// One standalone Redis shared by every node, under a fresh key prefix.
    Redis { url: String, prefix: String },
}

impl Storage {
    /// The Redis server shared by this test binary, with a fresh prefix.
    pub fn shared_redis() -> Self {
        Storage::Redis {
            url: redis::shared_standalone().url(),
            prefix: redis::fresh_prefix(),
        }
    }
}

/// How long a silent node keeps its partitions in these tests.
pub const OWNER_TIMEOUT_SECONDS: u64 = 2;

/// The automatic rebalance of a cluster's nodes; off unless a test starts
/// the cluster with one ([`TestCluster::start_rebalancing`]), so the tests of
/// the manual `cluster rebalance` see only the moves they make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoRebalance {
    pub moves_per_second: u32,
    pub cooldown_seconds: u64,
}

/// Nodes by id; a killed node keeps its data directory and peer address.
#[derive(Debug)]
pub struct TestCluster {
    storage: Storage,
    nodes: BTreeMap<u64, Slot>,
    /// Whether peers reach each other through [`FaultProxy`]s.
    proxied: bool,
    /// Every node's automatic rebalance; `None` turns it off.
    rebalance: Option<AutoRebalance>,
}

#[derive(Debug)]
struct Slot {
    dir: TempDir,
    peer: SocketAddr,
    /// The address clients used last; a restart binds it again.
    client: SocketAddr,
    /// In a proxied cluster: the proxy in front of this node's peer port,
    /// and the loopback address its own peer calls leave from.
    proxy: Option<(FaultProxy, IpAddr)>,
    /// Listed in the peers (a voter), or a non-voting member.
    voter: bool,
    instance: Option<Instance>,
}

impl TestCluster {
    /// Starts `n` nodes with ids 1..=n that form one cluster.
    pub async fn start(n: u64, storage: Storage) -> anyhow::Result<Self> {
        Self::start_with(n, storage, false, None).await
    }

    /// Like [`TestCluster::start`], with the automatic rebalance on (or off,
    /// with `None`) on every node, those added or restarted later included.
    pub async fn start_rebalancing(
        n: u64,
        storage: Storage,
        rebalance: Option<AutoRebalance>,
    ) -> anyhow::Result<Self> {
        Self::start_with(n, storage, false, rebalance).await
    }

    /// Like [`TestCluster::start`], with every peer call going through a
    /// [`FaultProxy`] in front of the callee's peer port, and each node's
    /// peer calls leaving from its own loopback address (127.0.0.10 + id), so
    /// [`TestCluster::cut_peers`] can cut one node off in both directions
    /// while its clients still reach it.
    pub async fn start_behind_proxies(n: u64, storage: Storage) -> anyhow::Result<Self> {
        Self::start_with(n, storage, true, None).await
    }

    async fn start_with(
        n: u64,
        storage: Storage,
        proxied: bool,
        rebalance: Option<AutoRebalance>,
    ) -> anyhow::Result<Self> {
        let mut listeners = BTreeMap::new();
        for id in 1..=n {
            listeners.insert(id, bind_pair().await?);
        }
        let mut cluster = Self {
            storage,
            nodes: BTreeMap::new(),
            proxied,
            rebalance,
        };
        for (&id, (client, peer)) in &listeners {
            let slot = cluster.new_slot(id, client, peer).await?;
            cluster.nodes.insert(id, slot);
        }
        let peers = cluster.peer_list();
        let starting = listeners.into_iter().map(|(id, (client, peer))| {
            let config = cluster.config(id, &peers);
            async move {
                let config = match config {
                    Ok(config) => config,
                    Err(e) => return (id, Err(e)),
                };
                let listeners = Listeners {
                    client,
                    metrics: None,
                    peer,
                    grpc: None,
                };
                (
                    id,
                    Instance::start(&config, listeners)
                        .await
                        .map_err(anyhow::Error::from),
                )
            }
        });
        // Concurrently: each node waits for a leader, which needs the others.
        let started = futures::future::join_all(starting).await;
        for (id, instance) in started {
            cluster.slot(id).instance = Some(instance?);
        }
        Ok(cluster)
    }

    /// Adds a node with the next id, listed among the voters; it joins the
    /// running cluster as a voter.
    pub async fn add_node(&mut self) -> anyhow::Result<u64> {
        self.add(true).await
    }

    /// Adds a node with the next id outside the voter list, with its own
    /// advertise address: it joins as a non-voting member (a Raft learner).
    /// [`TestCluster::stop`] drains it.
    pub async fn add_member(&mut self) -> anyhow::Result<u64> {
        self.add(false).await
    }

    async fn add(&mut self, voter: bool) -> anyhow::Result<u64> {
        let id = self.nodes.keys().max().copied().unwrap_or(0) + 1;
        let (client, peer) = bind_pair().await?;
        let mut slot = self.new_slot(id, &client, &peer).await?;
        slot.voter = voter;
        self.nodes.insert(id, slot);
        let config = self.config(id, &self.peer_list())?;
        let instance = Instance::start(
            &config,
            Listeners {
                client,
                metrics: None,
                peer,
                grpc: None,
            },
        )
        .await?;
        self.slot(id).instance = Some(instance);
        Ok(id)
    }

    /// A connection to the cluster's Redis under its key prefix, to look at
    /// (or write to) storage directly as a stale node would; `None` on memory.
    pub async fn redis(&self) -> anyhow::Result<Option<node::storage::redis::RedisStorage>> {
        let Storage::Redis { url, prefix } = &self.storage else {
            return Ok(None);
        };
        let settings = node::storage::redis::RedisSettings {
            key_prefix: prefix.clone(),
            ..node::storage::redis::RedisSettings::standalone(url.clone())
        };
        Ok(Some(
            node::storage::redis::RedisStorage::connect(&settings).await?,
        ))
    }

    /// The owner epoch Redis holds for a partition (`<prefix>:{topic:partition}:epoch`,
    /// node/src/storage/redis/keys.rs): the newest owner that claimed or appended
    /// to it. `None` on memory storage or before any claim.
    pub async fn stored_epoch(&self, topic: &str, partition: u32) -> anyhow::Result<Option<u64>> {
        let Storage::Redis { url, prefix } = &self.storage else {
            return Ok(None);
        };
        let mut connection = ::redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let epoch: Option<u64> = ::redis::cmd("GET")
            .arg(format!("{prefix}:{{{topic}:{partition}}}:epoch"))
            .query_async(&mut connection)
            .await?;
        Ok(epoch)
    }

    /// Stops node `id` at once, like a crash.
    pub async fn kill(&mut self, id: u64) {
        if let Some(instance) = self.slot(id).instance.take() {
            instance.kill().await;
        }
    }

    /// Stops node `id` gracefully (leadership handed over first).
    pub async fn stop(&mut self, id: u64) -> anyhow::Result<()> {
        if let Some(instance) = self.slot(id).instance.take() {
            instance.stop().await?;
        }
        Ok(())
    }

    /// Empties node `id`'s data directory (it must be stopped), as if its
    /// disk was lost.
    pub fn wipe(&mut self, id: u64) -> anyhow::Result<()> {
        let slot = self.slot(id);
        anyhow::ensure!(slot.instance.is_none(), "node {id} is running");
        slot.dir = tempfile::tempdir()?;
        Ok(())
    }

    /// Starts node `id` again on its data directory and addresses.
    pub async fn restart(&mut self, id: u64) -> anyhow::Result<()> {
        let (client, peer) = {
            let slot = self.slot(id);
            (slot.client, slot.peer)
        };
        let listeners = Listeners {
            client: TcpListener::bind(client).await?,
            metrics: None,
            peer: TcpListener::bind(peer).await?,
            grpc: None,
        };
        let config = self.config(id, &self.peer_list())?;
        let instance = Instance::start(&config, listeners).await?;
        self.slot(id).instance = Some(instance);
        Ok(())
    }

    /// The running node `id`.
    pub fn node(&self, id: u64) -> &Instance {
        self.nodes[&id]
            .instance
            .as_ref()
            .unwrap_or_else(|| panic!("node {id} is not running"))
    }

    /// Ids of the running nodes.
    pub fn running(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|(_, slot)| slot.instance.is_some())
            .map(|(&id, _)| id)
            .collect()
    }

    /// An API client of node `id`.
    pub fn client(&self, id: u64) -> Client {
        let url = format!("http://{}", self.nodes[&id].client);
        Client::new(&url, Duration::from_secs(10)).expect("an HTTP client")
    }

    /// The leader as the running nodes see it, if they agree on one that runs.
    pub fn leader(&self) -> Option<u64> {
        let mut seen = self
            .running()
            .into_iter()
            .map(|id| self.node(id).consensus.leader().map(NodeId::get));
        let first = seen.next()??;
        (seen.all(|l| l == Some(first)) && self.running().contains(&first)).then_some(first)
    }

    /// Cuts node `id`'s peer traffic in both directions with `fault`: the
    /// other nodes' calls to it and its calls to them. Its clients still
    /// reach it. Only in a cluster started with
    /// [`TestCluster::start_behind_proxies`].
    pub fn cut_peers(&self, id: u64, fault: Fault) {
        for (&at, slot) in &self.nodes {
            let (proxy, _) = slot.proxy.as_ref().expect("a cluster behind proxies");
            if at == id {
                proxy.cut_all(fault);
            } else {
                proxy.cut_from(self.source_ip(id), fault);
            }
        }
    }

    /// Lifts every fault [`TestCluster::cut_peers`] set.
    pub fn heal_peers(&self) {
        for (proxy, _) in self.nodes.values().filter_map(|s| s.proxy.as_ref()) {
            proxy.heal();
        }
    }

    /// Stops every running node gracefully.
    pub async fn shutdown(mut self) {
        for id in self.running() {
            if let Err(e) = self.stop(id).await {
                tracing::warn!(node_id = id, error = %e, "node did not stop cleanly");
            }
        }
    }

    fn slot(&mut self, id: u64) -> &mut Slot {
        self.nodes
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// The loopback address node `id`'s peer calls leave from (proxied clusters).
    fn source_ip(&self, id: u64) -> IpAddr {
        self.nodes[&id]
            .proxy
            .as_ref()
            .map(|(_, ip)| *ip)
            .expect("a cluster behind proxies")
    }

    /// A slot for node `id` on these listeners, behind a proxy if the cluster is.
    async fn new_slot(
        &self,
        id: u64,
        client: &TcpListener,
        peer: &TcpListener,
    ) -> anyhow::Result<Slot> {
        let mut slot = Slot::new(client, peer)?;
        if self.proxied {
            let last = u8::try_from(10 + id)?;
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
            slot.proxy = Some((FaultProxy::start(slot.peer).await?, source));
        }
        Ok(slot)
    }

    /// The voters' peer addresses: `id=addr,...`.
    fn peer_list(&self) -> String {
        self.nodes
            .iter()
            .filter(|(_, slot)| slot.voter)
            .map(|(id, slot)| match &slot.proxy {
                Some((proxy, _)) => format!("{id}={}", proxy.addr()),
                None => format!("{id}={}", slot.peer),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn config(&self, id: u64, peers: &str) -> anyhow::Result<Config> {
        let slot = &self.nodes[&id];
        let mut args = Args {
            host: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: Some(0),
            metrics_enabled: Some(false),
            peer_port: Some(0),
            node_id: Some(id),
            data_dir: Some(slot.dir.path().to_owned()),
            peers: Some(peers.to_owned()),
            owner_timeout_seconds: Some(OWNER_TIMEOUT_SECONDS),
            shutdown_grace_seconds: Some(2),
            ..Args::default()
        };
        args.rebalance.rebalance_auto = Some(self.rebalance.is_some());
        if let Some(rebalance) = self.rebalance {
            args.rebalance.rebalance_moves_per_second = Some(rebalance.moves_per_second);
            args.rebalance.rebalance_cooldown_seconds = Some(rebalance.cooldown_seconds);
        }
        if !slot.voter {
            args.advertise_addr = Some(match &slot.proxy {
                Some((proxy, _)) => proxy.addr().to_string(),
                None => slot.peer.to_string(),
            });
        }
        if let Storage::Redis { url, prefix } = &self.storage {
            args.storage = Some(StorageKind::Redis);
            args.redis_url = Some(url.clone());
            args.redis_key_prefix = Some(prefix.clone());
            args.redis_response_timeout_millis = Some(2_000);
        }
        let mut config = Config::resolve(args)?;
        config.cluster.peer_source_ip = slot.proxy.as_ref().map(|(_, ip)| *ip);
        Ok(config)
    }
}

impl Slot {
    /// A node not started yet, with a fresh data directory, on these listeners.
    fn new(client: &TcpListener, peer: &TcpListener) -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            peer: peer.local_addr()?,
            client: client.local_addr()?,
            proxy: None,
            voter: true,
            instance: None,
        })
    }
}

async fn bind_pair() -> std::io::Result<(TcpListener, TcpListener)> {
    Ok((
        TcpListener::bind("127.0.0.1:0").await?,
        TcpListener::bind("127.0.0.1:0").await?,
    ))
}

/// Polls `check` until it returns `Some`, at most `within`; the error names `what`.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! [`Instance`]: one cluster node, started from its [`Config`] on bound
//! listeners: metadata consensus, storage routed to partition owners, the
//! client API, and the background tasks that follow the metadata.
//!
//! `pubsubgo-server` runs one; the multi-node tests run several in one
//! process on loopback ports.
//!
//! Start-up order: open local storage; open the Raft data and serve the peer
//! port (Raft RPC plus forwarded storage calls); form or join the group; wait
//! for a leader; give local storage everything the metadata knows; serve
//! clients. Shutdown: stop accepting clients and finish in-flight requests,
//! hand this node's partitions to the other live nodes (a voter is marked
//! down; a non-voting member drains: it leaves the placement, then the Raft
//! membership), hand Raft leadership to another voter, stop Raft.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use raft::{Consensus, ConsensusConfig, ConsensusError};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::broker::wakers::TopicWakers;
use crate::clock::Clock;
use crate::config::{Config, StorageConfig};
use crate::grpc;
use crate::metadata_store::MetadataStore;
use crate::overload::{MemoryBudget, Overload};
use crate::routing::liveness::Liveness;
use crate::routing::move_journal::MoveJournal;
use crate::routing::rebalancer::Rebalancer;
use crate::routing::{
    self, MetadataPlacement, RemoteWakeups, RoutedStorage, StorageClient, StorageSync,
};
use crate::security::peer_tls::PeerTls;
use crate::security::tls_listener::TlsListener;
use crate::security::{ClientSecurity, SecurityError};
use crate::server;
use crate::storage::StorageError;
use crate::telemetry::Metrics;

/// How long start-up waits for the metadata group to have a leader.
pub const LEADER_WAIT: Duration = Duration::from_secs(30);

/// How long a stopping member keeps trying to hand its partitions over and
/// leave the membership (a leader election may be under way), or a node that
/// keeps its partitions writes the leases it holds. With the
/// production shutdown grace (30 s) and preStop pause (5 s) it fits the pod's
/// 60 s termination grace period (deployments/kubernetes/base/pubsubgo.yaml).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The three listeners of a node, bound by the caller (port 0 in tests).
#[derive(Debug)]
pub struct Listeners {
    pub client: TcpListener,
    pub metrics: Option<TcpListener>,
    pub peer: TcpListener,
    /// Google Pub/Sub's gRPC API (`crate::grpc`), when it is on.
    pub grpc: Option<TcpListener>,
}

impl Listeners {
    /// Binds the addresses of `config`.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let bind = |addr: SocketAddr, what: &'static str| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Listen { what, addr, source })
        };
        Ok(Self {
            client: bind(config.client_addr, "clients").await?,
            metrics: match config.metrics_addr {
                Some(addr) => Some(bind(addr, "metrics").await?),
                None => None,
            },
            peer: bind(config.cluster.peer_addr, "peers").await?,
            grpc: match config.grpc_addr {
                Some(addr) => Some(bind(addr, "Google Pub/Sub gRPC clients").await?),
                None => None,
            },
        })
    }
}

/// Why a node did not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot listen for {what} on {addr} (is another server running?): {source}")]
    Listen {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open storage: {0}")]
    Storage(#[from] StorageError),
    #[error("metadata consensus: {0}")]
    Consensus(#[from] ConsensusError),
    #[error("cannot give storage the topics and subscriptions of the metadata: {0}")]
    Restore(#[source] StorageError),
    #[error(transparent)]
    Security(#[from] SecurityError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running node.
#[derive(Debug)]
pub struct Instance {
    pub broker: Broker,
    pub consensus: Consensus,
    /// Where clients connect.
    pub client_addr: SocketAddr,
    /// Where peers connect.
    pub peer_addr: SocketAddr,
    /// Whether this node is one of the fixed voters; a member drains on stop.
    voter: bool,
    shutdown: CancellationToken,
    served: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Instance {
    /// Starts a node and returns once it serves clients.
    pub async fn start(config: &Config, listeners: Listeners) -> Result<Self, StartError> {
        Self::start_with(config, listeners, Arc::new(Metrics::new())).await
    }

    /// [`Instance::start`] recording into `metrics` (the binary creates them
    /// first, for the trace export's counters).
    pub async fn start_with(
        config: &Config,
        listeners: Listeners,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StartError> {
        let client_addr = listeners.client.local_addr()?;
        let peer_addr = listeners.peer.local_addr()?;
        let overload = Overload {
            memory: MemoryBudget::new(config.overload.memory, &metrics.overload),
            stream_write_timeout: config.overload.stream_write_timeout,
        };
        let local = server::open_storage(&config.storage, &overload.memory, &metrics).await?;

        let cluster = &config.cluster;
        let mut raft_config = ConsensusConfig::new(cluster.node_id, &cluster.data_dir, peer_addr);
        if !cluster.peers.is_empty() {
            raft_config.peers = cluster.peers.clone();
            raft_config
                .peers
                .insert(cluster.node_id, cluster.advertised());
        }
        raft_config.bootstrap_expect = cluster.bootstrap_expect;
        raft_config.voter = cluster.voter;
        raft_config.source_ip = cluster.peer_source_ip;
        let shutdown = CancellationToken::new();
        let peer_tls = match &config.security.peer_tls {
            Some(files) => Some(PeerTls::start(files, &shutdown)?),
            None => None,
        };
        raft_config.tls = peer_tls.as_ref().map(|(tls, _)| tls.client.clone());
        let consensus = Consensus::open(&raft_config).await?;
        let memory = matches!(config.storage, StorageConfig::Memory);
        let sync = Arc::new(StorageSync::new(
            consensus.clone(),
            local.clone(),
            memory,
            metrics.routing.sync_items.clone(),
        ));
        let placement = Arc::new(MetadataPlacement::new(
            consensus.clone(),
            sync.clone(),
            cluster.owner_timeout,
        ));
        let client = StorageClient::from_source(
            StorageClient::DEFAULT_TIMEOUT,
            cluster.peer_source_ip,
            raft_config.tls.as_ref(),
        )?
        .identified(cluster.node_id, metrics.routing.clone())
        .max_in_flight(cluster.peer_max_in_flight);
        let storage = Arc::new(RoutedStorage::new(
            local.clone(),
            placement.clone(),
            client.clone(),
        ));
        // Shared by the broker and the peer port: calls forwarded here wake
        // this node's waiters, and other nodes' watches wait on them.
        let wakers = Arc::new(TopicWakers::default());
        let remote_wakeups =
            RemoteWakeups::new(placement.clone(), client, &wakers, shutdown.clone());
        wakers.set_remote(remote_wakeups.clone());
        let peer_routes = routing::routes(
            local,
            placement.clone(),
            overload.memory.clone(),
            wakers.clone(),
            cluster.peer_max_in_flight,
            metrics.routing.clone(),
        );
        let mut background = Vec::new();
        match peer_tls {
            Some((tls, watch)) => {
                let listener = TlsListener::new(listeners.peer, tls.server)?;
                consensus.serve(&raft_config, listener, peer_routes).await;
                background.push(watch);
            }
            None => {
                consensus
                    .serve(&raft_config, listeners.peer, peer_routes)
                    .await
            }
        }
        consensus
            .wait_until(LEADER_WAIT, |m| m.leader.is_some())
            .await?;
        if let Err(e) = placement.catch_up_after_start(LEADER_WAIT).await {
            tracing::warn!(error = %e, "serving before catching up with the metadata leader");
        }
        sync.sync().await.map_err(StartError::Restore)?;

        let journal = Arc::new(MoveJournal::new(config.rebalance));
        let broker = Broker::with_wakers(
            MetadataStore::replicated(consensus.clone())
                .observed(metrics.raft.clone())
                .journaled(journal.clone()),
            storage,
            metrics,
            Clock::new(),
            shutdown.clone(),
            overload,
            wakers,
        );
        let liveness = Liveness {
            node_id: cluster.node_id,
            advertised: if cluster.peers.is_empty() {
                peer_addr.to_string()
            } else {
                cluster.advertised()
            },
            owner_timeout: cluster.owner_timeout,
            voter: cluster.voter,
        };
        // Registered before serving clients, so topics created through this
        // node are placed over it too; a joining node still a learner
        // registers later, from the liveness task.
        liveness.register(broker.metadata.store(), &consensus).await;
        background.extend([
            tokio::spawn(sync.run(shutdown.clone())),
            tokio::spawn(remote_wakeups.follow_metadata(consensus.changes())),
            tokio::spawn({
                let metadata = broker.metadata.store().clone();
                let metrics = broker.metrics.clone();
                let shutdown = shutdown.clone();
                async move { liveness.run(metadata, metrics, shutdown).await }
            }),
            tokio::spawn(journal.clone().run(consensus.clone(), shutdown.clone())),
            tokio::spawn(Rebalancer::new(journal).run(
                broker.metadata.store().clone(),
                broker.metrics.raft.clone(),
                shutdown.clone(),
            )),
        ]);
        let (security, watchers) = ClientSecurity::start(&config.security, &shutdown)?;
        background.extend(watchers);
        if let Some(listener) = listeners.grpc {
            let broker = broker.clone();
            let security = security.clone();
            background.push(tokio::spawn(async move {
                if let Err(error) = grpc::serve(listener, broker, security).await {
                    tracing::error!(%error, "the gRPC listener stopped");
                }
            }));
        }
        let served = tokio::spawn(server::run(
            listeners.client,
            listeners.metrics,
            broker.clone(),
            config.shutdown_grace,
            security,
        ));
        tracing::info!(
            node_id = cluster.node_id.get(),
            client = %client_addr,
            peer = %peer_addr,
            peer_tls = config.security.peer_tls.is_some(),
            data_dir = %cluster.data_dir.display(),
            memory_limit_bytes = config.overload.memory.limit_bytes,
            "node started"
        );
        Ok(Self {
            broker,
            consensus,
            client_addr,
            peer_addr,
            voter: cluster.voter,
            shutdown,
            served,
            background,
        })
    }

    /// The token whose cancellation starts a graceful shutdown.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Waits until the shutdown token is cancelled and the node has stopped:
    /// clients are drained, leadership handed over, Raft stopped.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = match self.served.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        };
        for task in self.background {
            task.abort();
        }
        let keeps_partitions = if self.voter {
            !hand_over_partitions(self.broker.metadata.store(), &self.consensus).await
        } else {
            drain(self.broker.metadata.store(), &self.consensus).await;
            false
        };
        if keeps_partitions {
            write_held_state(&self.broker).await;
        }
        self.consensus.shutdown().await;
        served
    }

    /// Graceful shutdown: [`Instance::wait`] after cancelling the token.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Stops at once, like a crash: no leadership hand-over, no draining of
    /// clients. Storage other nodes share (Redis) keeps what was written.
    pub async fn kill(self) {
        self.served.abort();
        for task in &self.background {
            task.abort();
        }
        self.shutdown.cancel();
        self.consensus.halt().await;
    }
}

/// When a stopping node keeps its partitions (a single node, or the last one
/// live), their epochs stay the same, and the ack ids of the leases it holds
/// only in memory (at-least-once on Redis) stay good after a restart: writes
/// them, so the restart does not deliver them again. After a hand-over it
/// does not: those ack ids carry an older epoch and are refused, so the new
/// owners had better deliver the messages again at once.
async fn write_held_state(broker: &Broker) {
    let write = broker.delivery.write_held_state();
    if tokio::time::timeout(DRAIN_TIMEOUT, write).await.is_err() {
        tracing::warn!(
            timeout = ?DRAIN_TIMEOUT,
            "held leases not all written; they will be delivered again"
        );
    }
}

/// Before a graceful stop, marks this node down so its partitions move to the
/// other live nodes now (with new epochs) instead of after the owner timeout.
/// It registers again when it starts and gets partitions back from a
/// rebalance. Nothing to do for a single node or a node already removed.
/// Whether others were live to take the partitions.
async fn hand_over_partitions(metadata: &MetadataStore, consensus: &Consensus) -> bool {
    let me = consensus.node_id();
    let others_live = metadata.read(|md| {
        let placement = md.placement();
        placement.node(me).is_some_and(|n| n.live)
            && placement.nodes().any(|n| n.id != me && n.live)
    });
    if !others_live {
        return false;
    }
    let command = cluster::Command::SetNodeLive {
        id: me,
        live: false,
    };
    match metadata.propose(command).await {
        Ok(cluster::Reply::PartitionsMoved(moves)) => {
            tracing::info!(
                moved = moves.len(),
                "handed partitions over before stopping"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "stopping without handing partitions over"),
    }
    true
}

/// Before a non-voting member stops: forgets it in the placement, which moves
/// its partitions to the live nodes (new epochs), then takes it out of the
/// Raft membership, so the cluster is back to its voters. Started again, it
/// joins anew. Each step is retried within a bound; a step left undone is
/// finished by the leader's failure detector (partitions) or `cluster
/// remove-node` (membership).
async fn drain(metadata: &MetadataStore, consensus: &Consensus) {
    let me = consensus.node_id();
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let known = || metadata.read(|md| md.placement().node(me).is_some());
    while known() {
        match metadata
            .propose(cluster::Command::RemoveNode { id: me })
            .await
        {
            Ok(cluster::Reply::PartitionsMoved(moves)) => {
                tracing::info!(moved = moves.len(), "drained: partitions handed over");
            }
            Ok(_) => {}
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "cannot hand partitions over yet; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "stopping without handing partitions over");
                break;
            }
        }
    }
    loop {
        match consensus.remove_node(me).await {
            Ok(()) => {
                tracing::info!("left the cluster membership");
                return;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "cannot leave the membership yet; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "stopping without leaving the membership");
                return;
            }
        }
    }
}

//! [`World`]: the simulated cluster. Nodes start, crash (their [`Disk`]
//! keeps what was durable) and restart; proposals enter at any node and are
//! forwarded to the leader; routed writes go to a partition's owner as the
//! entry node's metadata names it, and the owner appends under the epoch its
//! own metadata gives it; each node claims the epochs of partitions it gained
//! at once (the broker's `StorageSync`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster::{Command, Epoch, TopicName};
use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, RaftError};
use openraft::{AsyncRuntime, BasicNode, EntryPayload, RaftMetrics, SnapshotPolicy};

use crate::breaks::Break;
use crate::network::{Net, SimNetwork};
use crate::partition_store::PartitionStore;
use crate::store::{Applied, Disk, MemLog, MemMachine, SimRaft, View, digest};
use crate::types::{LogId, NodeId, SimConfig, SimRuntime};

/// How long a proposal may take before its outcome counts as unknown.
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// A running node.
#[derive(Debug)]
pub struct Running {
    pub raft: SimRaft,
    pub view: Arc<View>,
}

/// A proposal's end: committed at an index with an entry hash, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposed {
    Acked { index: u64, entry: u64 },
    Failed(String),
}

/// The cluster, its network and its storage.
#[derive(Debug)]
pub struct World {
    pub ids: BTreeSet<NodeId>,
    pub net: Arc<Net>,
    pub nodes: BTreeMap<NodeId, Running>,
    pub store: Arc<Mutex<PartitionStore>>,
    pub sink: Arc<Mutex<Vec<Applied>>>,
    pub proposals: Arc<Mutex<Vec<Proposed>>>,
    /// Proposals still in flight.
    pub pending: Arc<AtomicUsize>,
    breaks: Option<Break>,
    disks: BTreeMap<NodeId, Arc<Mutex<Disk>>>,
    /// The epoch each node last claimed per partition; cleared when it restarts.
    claimed: BTreeMap<NodeId, BTreeMap<(TopicName, u32), Epoch>>,
    config: Arc<openraft::Config>,
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl World {
    pub fn new(seed: u64, nodes: u64, breaks: Option<Break>) -> World {
        let ids: BTreeSet<NodeId> = (1..=nodes).map(NodeId::new).collect();
        let config = openraft::Config {
            cluster_name: "simulation".to_owned(),
            heartbeat_interval: 150,
            election_timeout_min: 450,
            election_timeout_max: 900,
            snapshot_policy: SnapshotPolicy::Never,
            // As in production (`raft::ConsensusConfig`): a node whose log
            // went back (a lost disk, or `lazy-fsync`) is caught up again.
            allow_log_reversion: Some(true),
            ..Default::default()
        }
        .validate()
        .expect("a valid Raft configuration");
        World {
            disks: ids.iter().map(|id| (*id, Disk::new(breaks))).collect(),
            ids,
            net: Net::new(seed),
            nodes: BTreeMap::new(),
            store: Arc::new(Mutex::new(PartitionStore::new(
                breaks != Some(Break::SkipEpochFence),
            ))),
            sink: Arc::default(),
            proposals: Arc::default(),
            pending: Arc::default(),
            breaks,
            claimed: BTreeMap::new(),
            config: Arc::new(config),
        }
    }

    /// Starts (or restarts) `id` on its disk with an empty state machine.
    pub async fn start(&mut self, id: NodeId) -> Result<(), String> {
        let machine = MemMachine::new(
            id,
            self.sink.clone(),
            self.breaks == Some(Break::DropOwnerChanges) && id == NodeId::new(1),
        );
        let view = machine.view.clone();
        let log = MemLog {
            disk: self.disks[&id].clone(),
        };
        let network = SimNetwork {
            from: id,
            net: self.net.clone(),
        };
        let raft = SimRaft::new(id, self.config.clone(), network, log, machine)
            .await
            .map_err(|e| format!("node {id} did not start: {e}"))?;
        self.net.set_running(id, Some(raft.clone()));
        self.nodes.insert(id, Running { raft, view });
        self.claimed.remove(&id);
        Ok(())
    }

    /// The first voters form the group (what `raft`'s formation does).
    pub async fn initialize(&self) -> Result<(), String> {
        let first = self.ids.first().copied().ok_or("no nodes")?;
        let voters: BTreeMap<NodeId, openraft::BasicNode> = self
            .ids
            .iter()
            .map(|id| (*id, openraft::BasicNode::new(format!("n{id}"))))
            .collect();
        self.nodes[&first]
            .raft
            .initialize(voters)
            .await
            .map_err(|e| e.to_string())
    }

    /// Stops `id` at once; what its disk had not made durable is lost.
    pub async fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.remove(&id) {
            self.net.set_running(id, None);
            let _ = node.raft.shutdown().await;
            lock(&self.disks[&id]).crash();
        }
    }

    pub fn metrics(&self) -> BTreeMap<NodeId, RaftMetrics<SimConfig>> {
        self.nodes
            .iter()
            .map(|(id, node)| (*id, node.raft.metrics().borrow_watched().clone()))
            .collect()
    }

    /// Proposes `command` at `entry` in the background; its outcome lands
    /// in [`World::proposals`].
    pub fn propose(&self, entry: NodeId, command: Command) {
        let net = self.net.clone();
        let proposals = self.proposals.clone();
        let pending = self.pending.clone();
        pending.fetch_add(1, Ordering::SeqCst);
        drop(SimRuntime::spawn(async move {
            let outcome =
                match tokio::time::timeout(PROPOSAL_TIMEOUT, forward(&net, entry, command.clone()))
                    .await
                {
                    Ok(Ok(log_id)) => Proposed::Acked {
                        index: log_id.index,
                        entry: digest(&(
                            &log_id,
                            &EntryPayload::<Command, NodeId, BasicNode>::Normal(command),
                        )),
                    },
                    Ok(Err(e)) => Proposed::Failed(e),
                    Err(_) => Proposed::Failed("timed out".to_owned()),
                };
            lock(&proposals).push(outcome);
            pending.fetch_sub(1, Ordering::SeqCst);
        }));
    }

    /// A write of `value` to a partition entering at `entry`: routed to the
    /// owner its metadata names, which appends under its own epoch. One
    /// retry after `Moved`, as the broker's routed storage does.
    pub async fn routed_write(
        &self,
        entry: NodeId,
        topic: &TopicName,
        partition: u32,
        value: u64,
    ) -> &'static str {
        for _ in 0..2 {
            let Some(at) = self.nodes.get(&entry) else {
                return "entry down";
            };
            let Some(route) = at.view.read(|_, m| m.placement().owner(topic, partition)) else {
                return "no route";
            };
            let remote = route.node != entry;
            if remote && self.net.carry(entry, route.node).await.is_err() {
                return "unreachable";
            }
            let Some(owner) = self.nodes.get(&route.node) else {
                return "owner down";
            };
            let own = owner
                .view
                .read(|_, m| m.placement().owner(topic, partition));
            let Some(own) = own.filter(|o| o.node == route.node) else {
                continue; // Moved: read the route again.
            };
            let accepted = lock(&self.store).append_fenced(
                route.node,
                topic,
                partition,
                own.epoch,
                Some(value),
            );
            if remote && self.net.carry(route.node, entry).await.is_err() {
                return "unknown";
            }
            return if accepted { "ok" } else { "fenced" };
        }
        "moved"
    }

    /// Every running node claims the epochs of the partitions it gained.
    pub fn claim_gained(&mut self) {
        for (id, node) in &self.nodes {
            let owned: Vec<(TopicName, u32, Epoch)> = node.view.read(|_, m| {
                m.placement()
                    .owned_by(*id)
                    .map(|(t, p, e)| (t.clone(), p, e))
                    .collect()
            });
            let claimed = self.claimed.entry(*id).or_default();
            for (topic, partition, epoch) in owned {
                let key = (topic, partition);
                if claimed.get(&key).is_some_and(|c| *c >= epoch) {
                    continue;
                }
                lock(&self.store).append_fenced(*id, &key.0, key.1, epoch, None);
                claimed.insert(key, epoch);
            }
        }
    }
}

/// Writes at `entry`, or at the leader it names (one hop over the network).
async fn forward(net: &Net, entry: NodeId, command: Command) -> Result<LogId, String> {
    let raft = net.raft(entry).ok_or("entry down")?;
    match raft.client_write(command.clone()).await {
        Ok(written) => Ok(written.log_id),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
            let leader = forward.leader_id.ok_or("no leader")?;
            let raft = net.carry(entry, leader).await.map_err(|e| e.to_string())?;
            let written = raft
                .client_write(command)
                .await
                .map_err(|e| e.to_string())?;
            net.carry(leader, entry).await.map_err(|e| e.to_string())?;
            Ok(written.log_id)
        }
        Err(e) => Err(e.to_string()),
    }
}

//! The simulated network: every Raft RPC and every routed call between nodes
//! passes [`Net`], which delivers it after a seeded latency, or drops it when
//! the two nodes are cut apart, the target is down, or the seeded loss rate
//! says so. A request can arrive and its answer still be lost, as on a real
//! network, so the caller sees an error for a call that took effect.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::v2::RaftNetworkV2;
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse};
use openraft::raft::{TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse};
use openraft::{BasicNode, OptionalSend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::store::SimRaft;
use crate::types::{NodeId, SimConfig, Snapshot, Vote};

/// Why a message did not arrive.
#[derive(Debug, thiserror::Error)]
#[error("{from} → {to}: {why}")]
pub struct Dropped {
    pub from: NodeId,
    pub to: NodeId,
    pub why: &'static str,
}

/// One message's fate, as drawn: when (µs of simulated time since the
/// network was made), from, to, latency (µs), and why it is dropped.
pub type Fate = (u64, NodeId, NodeId, u64, Option<&'static str>);

#[derive(Debug)]
struct NetState {
    rng: StdRng,
    started: tokio::time::Instant,
    /// Every fate drawn since [`Net::take_fates`] last took them.
    fates: Vec<Fate>,
    /// The Raft handle of every running node.
    running: BTreeMap<NodeId, SimRaft>,
    /// Links cut, both directions listed.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Percent of messages lost on links that are up.
    loss: u32,
}

/// The network all nodes share.
#[derive(Debug)]
pub struct Net {
    state: Mutex<NetState>,
}

impl Net {
    pub fn new(seed: u64) -> Arc<Net> {
        Arc::new(Net {
            state: Mutex::new(NetState {
                rng: StdRng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b00),
                started: tokio::time::Instant::now(),
                fates: Vec::new(),
                running: BTreeMap::new(),
                cut: BTreeSet::new(),
                loss: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_running(&self, node: NodeId, raft: Option<SimRaft>) {
        let mut state = self.lock();
        match raft {
            Some(raft) => state.running.insert(node, raft),
            None => state.running.remove(&node),
        };
    }

    pub fn raft(&self, node: NodeId) -> Option<SimRaft> {
        self.lock().running.get(&node).cloned()
    }

    /// Cuts every link between a node of `side` and a node outside it.
    pub fn split(&self, side: &BTreeSet<NodeId>, all: &BTreeSet<NodeId>) {
        let mut state = self.lock();
        for a in side {
            for b in all.difference(side) {
                state.cut.insert((*a, *b));
                state.cut.insert((*b, *a));
            }
        }
    }

    pub fn set_loss(&self, percent: u32) {
        self.lock().loss = percent;
    }

    pub fn heal(&self) {
        let mut state = self.lock();
        state.cut.clear();
        state.loss = 0;
    }

    /// Whether `a` and `b` can talk (ignoring loss).
    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        !self.lock().cut.contains(&(a, b))
    }

    /// The fault state, for the trace.
    pub fn describe(&self) -> String {
        let state = self.lock();
        let cut: Vec<String> = state
            .cut
            .iter()
            .filter(|(a, b)| a < b)
            .map(|(a, b)| format!("{a}-{b}"))
            .collect();
        format!("cut=[{}] loss={}%", cut.join(","), state.loss)
    }

    /// Decides one message's fate now, so draws happen in a fixed order.
    fn fate(&self, from: NodeId, to: NodeId) -> (Duration, Option<&'static str>) {
        let mut state = self.lock();
        let latency = Duration::from_micros(state.rng.random_range(500..5_000));
        let lost = state.loss > 0 && state.rng.random_range(0..100) < state.loss;
        let why = if state.cut.contains(&(from, to)) {
            Some("partitioned")
        } else if lost {
            Some("lost")
        } else {
            None
        };
        let at = u64::try_from(state.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        state.fates.push((at, from, to, micros, why));
        (latency, why)
    }

    /// The fates drawn since the last call, in the order they were drawn
    /// (the order the tasks sending them ran in).
    pub fn take_fates(&self) -> Vec<Fate> {
        std::mem::take(&mut self.lock().fates)
    }

    /// Carries one message from `from` to `to`: after its latency, the
    /// target's Raft handle, or why it did not arrive.
    pub async fn carry(&self, from: NodeId, to: NodeId) -> Result<SimRaft, Dropped> {
        let (latency, why) = self.fate(from, to);
        tokio::time::sleep(latency).await;
        if let Some(why) = why {
            return Err(Dropped { from, to, why });
        }
        self.raft(to).ok_or(Dropped {
            from,
            to,
            why: "target down",
        })
    }
}

/// The factory openraft asks for a client per peer.
#[derive(Debug, Clone)]
pub struct SimNetwork {
    pub from: NodeId,
    pub net: Arc<Net>,
}

impl RaftNetworkFactory<SimConfig> for SimNetwork {
    type Network = SimClient;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> SimClient {
        SimClient {
            from: self.from,
            target,
            net: self.net.clone(),
        }
    }
}

/// Raft RPCs from one node to one peer.
#[derive(Debug)]
pub struct SimClient {
    from: NodeId,
    target: NodeId,
    net: Arc<Net>,
}

impl SimClient {
    /// The request travels, the target handles it, the answer travels back.
    async fn call<T, E, F, Fut>(&self, handle: F) -> Result<T, RPCError<SimConfig>>
    where
        F: FnOnce(SimRaft) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let raft = self
            .net
            .carry(self.from, self.target)
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        let answer = handle(raft).await.map_err(|e| {
            tracing::debug!(error = %e, "the target's Raft refused");
            RPCError::Unreachable(Unreachable::new(&Dropped {
                from: self.from,
                to: self.target,
                why: "target stopping",
            }))
        })?;
        self.net
            .carry(self.target, self.from)
            .await
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        Ok(answer)
    }
}

impl RaftNetworkV2<SimConfig> for SimClient {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<SimConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<SimConfig>, RPCError<SimConfig>> {
        self.call(|raft| async move { raft.append_entries(request).await })
            .await
    }

    async fn vote(
        &mut self,
        request: VoteRequest<SimConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<SimConfig>, RPCError<SimConfig>> {
        self.call(|raft| async move { raft.vote(request).await })
            .await
    }

    async fn transfer_leader(
        &mut self,
        request: TransferLeaderRequest<SimConfig>,
        _option: RPCOption,
    ) -> Result<TransferLeaderResponse<SimConfig>, RPCError<SimConfig>> {
        self.call(|raft| async move { raft.handle_transfer_leader(request).await })
            .await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<SimConfig>, StreamingError<SimConfig>> {
        let sent = self
            .call(|raft| async move { raft.install_full_snapshot(vote, snapshot).await })
            .await?;
        Ok(sent)
    }
}

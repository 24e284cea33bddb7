//! Forming the group on first start, safely.
//!
//! Only a pristine node with the lowest id in the peer list initializes, and
//! only once every listed peer answers, is who it should be, and has no Raft
//! state. A node with state (a vote or log entries) never initializes, so a
//! restart or a lost disk elsewhere can not start a second cluster. Every
//! other node waits for the leader to replicate to it.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::errors::{InitializeError, RaftError};

use crate::peer::client;
use crate::types::{NodeId, Peer, Raft};

/// How often the lowest node asks its peers again while some are missing.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Who forms the group and how to reach them.
#[derive(Debug, Clone)]
pub(crate) struct Formation {
    pub node_id: NodeId,
    /// Every voter by id; this node is always included.
    pub members: BTreeMap<NodeId, String>,
    pub http: reqwest::Client,
}

impl Formation {
    /// Initializes the group if this node should; returns once it did, or once
    /// it is clear another node will (or did).
    pub(crate) async fn run(self, raft: Raft) {
        loop {
            match raft.is_initialized().await {
                Ok(false) => {}
                Ok(true) => return,
                Err(fatal) => {
                    tracing::warn!(error = %fatal, "raft stopped before the group formed");
                    return;
                }
            }
            let lowest = self.members.keys().next().copied();
            if lowest != Some(self.node_id) {
                tracing::info!(
                    node_id = self.node_id,
                    "waiting for the lowest node to form the group"
                );
                return;
            }
            match self.peers_ready().await {
                Ok(true) => {
                    self.initialize(&raft).await;
                    return;
                }
                Ok(false) => {
                    tracing::info!("a peer already has Raft state; joining the existing group");
                    return;
                }
                Err(waiting_for) => {
                    tracing::debug!(%waiting_for, "not all peers are ready to form the group");
                    tokio::time::sleep(PROBE_INTERVAL).await;
                }
            }
        }
    }

    /// `Ok(true)` when every other peer answers and none has state,
    /// `Ok(false)` when one has state, `Err` naming a peer not ready yet.
    async fn peers_ready(&self) -> Result<bool, String> {
        for (&id, addr) in self.members.iter().filter(|(id, _)| **id != self.node_id) {
            let status = client::status(&self.http, addr, PROBE_TIMEOUT)
                .await
                .map_err(|e| e.to_string())?;
            if status.node_id != id {
                return Err(format!(
                    "{addr} is node {}, but the peer list says {id}",
                    status.node_id
                ));
            }
            if status.has_state {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn initialize(&self, raft: &Raft) {
        let members: BTreeMap<NodeId, Peer> = self
            .members
            .iter()
            .map(|(&id, addr)| (id, Peer { addr: addr.clone() }))
            .collect();
        match raft.initialize(members).await {
            Ok(()) => tracing::info!(voters = ?self.members.keys(), "formed the metadata group"),
            Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
                tracing::info!(reason = %e, "the group was already formed")
            }
            Err(e) => tracing::error!(error = %e, "cannot form the metadata group"),
        }
    }
}

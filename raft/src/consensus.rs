//! [`Consensus`], the handle the broker uses: propose a command from any node,
//! read the metadata linearizably, see who leads, change the voters, and hand
//! leadership over before stopping.
//!
//! A proposal on a follower is forwarded to the leader over the peer port; a
//! read on a follower asks the leader for a read index, waits until the local
//! state machine has applied it, then reads locally (ReadIndex). Membership
//! changes are forwarded the same way (`leader_link`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cluster::{Command, Metadata, Reply};
use openraft::RaftMetrics;
use openraft::async_runtime::WatchReceiver;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::config::ConsensusConfig;
use crate::error::ConsensusError;
use crate::formation::Formation;
use crate::leader_link::{Attempt, LeaderLink, forward_failed};
use crate::leadership;
use crate::log_store::LogStore;
use crate::metrics::ConsensusMetrics;
use crate::peer::client::{self, PeerNetwork};
use crate::peer::router::{self, read_index_locally, write_locally};
use crate::peer::transport::PeerHttp;
use crate::peer::{MembershipChange, ProposeOutcome, ReadIndexOutcome};
use crate::state_machine::{AppliedMetadata, StateMachine};
use crate::storage::{Storage, StorageClosed};
use crate::types::{LogId, NodeId, Raft, TypeConfig};

/// How long shutdown waits for openraft to release the storage.
const STORAGE_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// One node's membership in the metadata group. Cloning shares the node.
#[derive(Debug, Clone)]
pub struct Consensus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The Raft node and the way to its leader.
    link: LeaderLink,
    applied: Arc<AppliedMetadata>,
    heartbeat: Duration,
    /// Followers elect on their own after about the longest election timeout,
    /// so a leadership transfer is not worth waiting for longer than that.
    election_timeout_max: Duration,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Completes when openraft has dropped the log store and state machine.
    storage_closed: StorageClosed,
    /// The data dir held no Raft state when this node opened it: a new node,
    /// or one that lost its disk.
    pristine: bool,
}

impl Consensus {
    /// Binds `config.listen`, serves the peer routes there, and forms or
    /// rejoins the group.
    pub async fn start(config: ConsensusConfig) -> Result<Self, ConsensusError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ConsensusError::Storage {
                    path: config.listen.to_string(),
                    source,
                })?;
        Self::start_on(config, listener).await
    }

    /// Like [`Consensus::start`], on a listener the caller bound.
    pub async fn start_on(
        config: ConsensusConfig,
        listener: TcpListener,
    ) -> Result<Self, ConsensusError> {
        Self::start_with_routes(config, listener, axum::Router::new()).await
    }

    /// Like [`Consensus::start_on`], and serves `extra` on the same listener
    /// beside the peer routes (the broker forwards requests between nodes
    /// there). Both stop when this node shuts down.
    ///
    /// # Panics
    /// If `extra` serves a path of the peer protocol (all are under `/raft/`)
    /// or has its own fallback: axum refuses to merge such routers.
    pub async fn start_with_routes(
        config: ConsensusConfig,
        listener: TcpListener,
        extra: axum::Router,
    ) -> Result<Self, ConsensusError> {
        let consensus = Self::open(&config).await?;
        consensus.serve(&config, listener, extra).await;
        Ok(consensus)
    }

    /// Serves the peer routes and `extra` on `listener`, and forms or rejoins
    /// the group as `config` says: the second half of
    /// [`Consensus::start_with_routes`], for a caller whose extra routes need
    /// the opened [`Consensus`] first (see [`Consensus::open`]).
    ///
    /// # Panics
    /// As [`Consensus::start_with_routes`].
    pub async fn serve<L>(&self, config: &ConsensusConfig, listener: L, extra: axum::Router)
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let app = self.router().merge(extra);
        let mut stop = self.inner.stop.subscribe();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "the peer server failed");
            }
        });
        let link = &self.inner.link;
        let formation = Formation {
            node_id: config.node_id,
            members: config.members(),
            voters_to_form: config.voters_to_form(),
            http: link.http.clone(),
            join_timeout: link.membership_call_timeout() + link.leader_wait,
            voter: config.voter,
            pristine: self.inner.pristine,
            asked_to_found: link.asked_to_found.clone(),
        };
        let forming = tokio::spawn(formation.run(link.raft.clone()));
        self.inner.tasks.lock().await.extend([server, forming]);
    }

    /// Opens the Raft data and starts the Raft node, without serving peers or
    /// forming the group; [`Consensus::serve`] does both. Until then the node
    /// takes no part in the group.
    pub async fn open(config: &ConsensusConfig) -> Result<Self, ConsensusError> {
        let raft_config = config
            .raft_config()
            .map_err(|reason| ConsensusError::Config { reason })?;
        let storage = |source| ConsensusError::Storage {
            path: config.data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&config.data_dir).map_err(storage)?;
        let db = Storage::open(config.data_dir.join("raft.redb"))
            .await
            .map_err(storage)?;
        let storage_closed = db.closed();
        let log_store = LogStore::new(db.clone()).await.map_err(storage)?;
        let state_machine = StateMachine::new(db).await.map_err(storage)?;
        let applied = state_machine.applied_metadata();
        install_crypto_provider();
        let http = |what| {
            PeerHttp::new(config.source_ip, config.tls.as_ref()).map_err(|e| {
                ConsensusError::Config {
                    reason: format!("cannot build the {what} HTTP client: {e}"),
                }
            })
        };
        let network = PeerNetwork::new(config.node_id, http("Raft RPC")?);
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config),
            network,
            log_store,
            state_machine,
        )
        .await
        .map_err(|fatal| ConsensusError::Unavailable {
            reason: fatal.to_string(),
        })?;
        // Asked before the peer port serves: nothing replicated here yet.
        let pristine =
            !raft
                .is_initialized()
                .await
                .map_err(|fatal| ConsensusError::Unavailable {
                    reason: fatal.to_string(),
                })?;
        Ok(Self {
            inner: Arc::new(Inner {
                link: LeaderLink {
                    node_id: config.node_id,
                    raft,
                    http: http("forwarding")?,
                    forward_timeout: config.forward_timeout,
                    leader_wait: config.leader_wait,
                    membership_timeout: config.membership_timeout,
                    last_append: Arc::default(),
                    asked_to_found: Arc::default(),
                    applied: applied.clone(),
                },
                applied,
                heartbeat: config.heartbeat,
                election_timeout_max: config.election_timeout.1,
                stop: watch::Sender::new(false),
                tasks: Mutex::default(),
                storage_closed,
                pristine,
            }),
        })
    }

    /// The peer routes of this node, to serve on its peer port.
    pub fn router(&self) -> axum::Router {
        router::router(self.inner.link.clone())
    }

    /// This node's id in the group.
    pub fn node_id(&self) -> NodeId {
        self.inner.link.node_id
    }

    /// Commits `command` through the leader and returns what `apply` did.
    /// Works on any node; retries once when the leader changed before the
    /// command was appended.
    pub async fn propose(&self, command: Command) -> Result<Reply, ConsensusError> {
        let link = &self.inner.link;
        link.with_leader(|leader| {
            let command = command.clone();
            async move {
                let outcome = match leader {
                    None => write_locally(&link.raft, command, link.forward_timeout).await,
                    Some(addr) => {
                        let sent =
                            client::propose(&link.http, &addr, &command, link.forward_timeout)
                                .await;
                        match sent {
                            Ok(outcome) => outcome,
                            Err(e) => return forward_failed(e),
                        }
                    }
                };
                match outcome {
                    ProposeOutcome::Applied(Ok(reply)) => Attempt::Done(reply),
                    ProposeOutcome::Applied(Err(rejected)) => Attempt::Failed(rejected.into()),
                    ProposeOutcome::NotLeader { leader } => Attempt::Retry {
                        reason: "the leader changed".to_owned(),
                        hint: leader,
                    },
                    ProposeOutcome::Unknown { reason } => {
                        Attempt::Failed(ConsensusError::OutcomeUnknown { reason })
                    }
                    ProposeOutcome::Unavailable { reason } => {
                        Attempt::Failed(ConsensusError::Unavailable { reason })
                    }
                }
            }
        })
        .await
    }

    /// Reads the metadata linearizably: the read sees every command committed
    /// before it began. Keep `f` short: it holds a lock.
    pub async fn read<T>(&self, f: impl FnOnce(&Metadata) -> T) -> Result<T, ConsensusError> {
        let link = &self.inner.link;
        let read_id: LogId = link
            .with_leader(|leader| async move {
                let outcome = match leader {
                    None => read_index_locally(&link.raft, link.forward_timeout).await,
                    Some(addr) => {
                        let asked =
                            client::read_index(&link.http, &addr, link.forward_timeout).await;
                        match asked {
                            Ok(outcome) => outcome,
                            // A read has no effect, so an unknown outcome is just unavailable.
                            Err(e) => {
                                return Attempt::Failed(ConsensusError::Unavailable {
                                    reason: e.to_string(),
                                });
                            }
                        }
                    }
                };
                match outcome {
                    ReadIndexOutcome::Ready(id) => Attempt::Done(id),
                    ReadIndexOutcome::NotLeader { leader } => Attempt::Retry {
                        reason: "the leader changed".to_owned(),
                        hint: leader,
                    },
                    ReadIndexOutcome::Unavailable { reason } => {
                        Attempt::Failed(ConsensusError::Unavailable { reason })
                    }
                }
            })
            .await?;
        link.raft
            .wait(Some(link.forward_timeout))
            .applied_index_at_least(Some(read_id.index), "apply up to the read index")
            .await
            .map_err(|e| ConsensusError::Unavailable {
                reason: e.to_string(),
            })?;
        Ok(self.inner.applied.read(f))
    }

    /// Reads the metadata as applied on this node, without asking the leader.
    /// It may be stale; use it where the caller fences with epochs.
    pub fn read_local<T>(&self, f: impl FnOnce(&Metadata) -> T) -> T {
        self.inner.applied.read(f)
    }

    /// [`Consensus::read_local`] with what changed after applied index
    /// `since` ([`AppliedMetadata::read_changes`](crate::AppliedMetadata::read_changes)).
    pub fn read_changes<T>(
        &self,
        since: Option<u64>,
        f: impl FnOnce(crate::AppliedView<'_>) -> T,
    ) -> T {
        self.inner.applied.read_changes(since, f)
    }

    /// The last applied log index; changes after every applied entry. Mark the
    /// value seen before reading, so no change falls between read and wait.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.applied.changes()
    }

    /// The leader this node knows of, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft_metrics().current_leader
    }

    /// Raft's state as this node sees it.
    pub fn metrics(&self) -> ConsensusMetrics {
        ConsensusMetrics::from(&self.raft_metrics())
    }

    /// Adds node `node_id`, reached at peer address `addr`, as a voter: the
    /// leader catches it up as a learner, then promotes it. Works on any node
    /// (forwarded to the leader). Idempotent: a voter already is one, so a
    /// retry after [`ConsensusError::OutcomeUnknown`] is safe.
    pub async fn add_node(&self, node_id: NodeId, addr: String) -> Result<(), ConsensusError> {
        let change = MembershipChange::Add { node_id, addr };
        self.inner.link.change_membership(&change).await
    }

    /// Removes node `node_id` from the group, as voter and as learner. Works
    /// on any node (forwarded to the leader); removing the leader makes it
    /// hand leadership to another voter and step down. Idempotent. Refuses
    /// ([`ConsensusError::Refused`]) to remove the last voter.
    pub async fn remove_node(&self, node_id: NodeId) -> Result<(), ConsensusError> {
        let change = MembershipChange::Remove { node_id };
        self.inner.link.change_membership(&change).await
    }

    /// If this node leads and another voter answers, hands leadership to the
    /// most up-to-date such voter and waits (at most `timeout`) until another
    /// node leads; returns that node. `Ok(None)` when there is nothing to do:
    /// this node does not lead, or is the only voter.
    pub async fn transfer_leadership(
        &self,
        timeout: Duration,
    ) -> Result<Option<NodeId>, ConsensusError> {
        // A live follower answers every heartbeat; a few missed mean it is gone.
        let fresh_ack_wait = self.inner.heartbeat * 4;
        leadership::transfer(&self.inner.link.raft, timeout, fresh_ack_wait).await
    }

    /// On the leader, for each voter (itself included, at zero): how long ago
    /// it last acknowledged this leader, or `None` if it has not since this
    /// node became leader. `None` on any other node. Placement uses it to move
    /// partitions away from voters that stopped answering.
    ///
    /// Ages count from when the acknowledged request was sent, so they may
    /// overstate by one round trip.
    pub fn voter_contact(&self) -> Option<BTreeMap<NodeId, Option<Duration>>> {
        leadership::voter_contact(&self.raft_metrics())
    }

    /// [`Consensus::voter_contact`] for every voter and non-voting member
    /// (learner): placement judges members' liveness the same way.
    pub fn member_contact(&self) -> Option<BTreeMap<NodeId, Option<Duration>>> {
        leadership::member_contact(&self.raft_metrics())
    }

    /// How long ago this node last knew itself part of a working group: on
    /// the leader, since a quorum of voters (itself included) acknowledged
    /// it; elsewhere, since it last accepted entries or a heartbeat from a
    /// leader. `None` when it never has. A node cut off from the majority
    /// sees this grow, and can stop acting on what it owned (the others may
    /// have moved it).
    pub fn quorum_contact_age(&self) -> Option<Duration> {
        let metrics = self.raft_metrics();
        match leadership::voter_contact(&metrics) {
            Some(contact) => {
                let mut ages: Vec<Duration> = contact.into_values().flatten().collect();
                let quorum = metrics.membership_config.membership().voter_ids().count() / 2 + 1;
                ages.sort();
                ages.get(quorum - 1).copied()
            }
            None => self
                .inner
                .link
                .last_append
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .map(|at| at.elapsed()),
        }
    }

    /// Hands leadership to another voter if this node leads (best effort, for
    /// at most about an election timeout), stops serving peers and stops the
    /// Raft node; the data directory can be opened again once this returns.
    pub async fn shutdown(&self) {
        match self
            .transfer_leadership(self.inner.election_timeout_max)
            .await
        {
            Ok(Some(to)) => tracing::info!(to = to.get(), "handed leadership over before stopping"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "stopping without handing leadership over"),
        }
        self.halt().await;
    }

    /// Stops serving peers and stops the Raft node at once, without handing
    /// leadership over: to the other nodes this looks like a crash, and they
    /// elect a leader after an election timeout. Prefer
    /// [`Consensus::shutdown`]; tests use this to exercise failover.
    pub async fn halt(&self) {
        self.inner.stop.send_replace(true);
        if let Err(e) = self.inner.link.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not stop cleanly");
        }
        for task in self.inner.tasks.lock().await.drain(..) {
            task.abort();
            let _ = task.await;
        }
        let closed = self.inner.storage_closed.clone().wait();
        if tokio::time::timeout(STORAGE_CLOSE_TIMEOUT, closed)
            .await
            .is_err()
        {
            tracing::warn!("the Raft storage is still open after shutdown");
        }
    }

    /// Waits until `condition` holds for this node's metrics, at most `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&ConsensusMetrics) -> bool + Send + Sync,
    ) -> Result<ConsensusMetrics, ConsensusError> {
        self.inner
            .link
            .raft
            .wait(Some(timeout))
            .metrics(
                move |m| condition(&ConsensusMetrics::from(m)),
                "a metrics condition",
            )
            .await
            .map(|m| ConsensusMetrics::from(&m))
            .map_err(|e| ConsensusError::Unavailable {
                reason: e.to_string(),
            })
    }

    fn raft_metrics(&self) -> RaftMetrics<TypeConfig> {
        // Clone at once: a borrow held across an await can stall Raft (#1238).
        self.inner.link.raft.metrics().borrow_watched().clone()
    }
}

/// Installs rustls' `ring` provider as the process default unless one is
/// installed: reqwest builds a TLS config from it even for `http://` peers.
/// `ring` builds with a C compiler alone (see `docs/security.md`).
#[expect(
    deprecated,
    reason = "ring's provider lacks post-quantum key exchange; aws-lc-rs, which has it, needs cmake to build"
)]
pub fn install_crypto_provider() {
    // An error means a provider is installed already: keep it.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

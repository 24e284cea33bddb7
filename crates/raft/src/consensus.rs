//! [`Consensus`], the handle the broker uses: propose a command from any node,
//! read the metadata linearizably, see who leads.
//!
//! A proposal on a follower is forwarded to the leader over the peer port; a
//! read on a follower asks the leader for a read index, waits until the local
//! state machine has applied it, then reads locally (ReadIndex).

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
use crate::log_store::LogStore;
use crate::metrics::ConsensusMetrics;
use crate::peer::client::{self, PeerCallError, PeerNetwork};
use crate::peer::router::{self, read_index_locally, write_locally};
use crate::peer::{ProposeOutcome, ReadIndexOutcome};
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
    node_id: NodeId,
    raft: Raft,
    applied: Arc<AppliedMetadata>,
    /// Forwarding has its own pool, apart from Raft's replication traffic.
    forward_http: reqwest::Client,
    forward_timeout: Duration,
    leader_wait: Duration,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Completes when openraft has dropped the log store and state machine.
    storage_closed: StorageClosed,
}

/// A step of a proposal or read that did not reach a usable answer.
enum Attempt<T> {
    Done(T),
    /// Surely not acted on: try again once a (new) leader is known.
    Retry {
        reason: String,
        hint: Option<NodeId>,
    },
    Failed(ConsensusError),
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
        let consensus = Self::open(&config).await?;
        let app = consensus.router();
        let mut stop = consensus.inner.stop.subscribe();
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
        let mut members = config.peers.clone();
        members.insert(config.node_id, config.own_address());
        let formation = Formation {
            node_id: config.node_id,
            members,
            http: consensus.inner.forward_http.clone(),
        };
        let forming = tokio::spawn(formation.run(consensus.inner.raft.clone()));
        consensus.inner.tasks.lock().await.extend([server, forming]);
        Ok(consensus)
    }

    /// Opens the Raft data and starts the Raft node, without serving peers or
    /// forming the group; [`Consensus::start_on`] does both.
    async fn open(config: &ConsensusConfig) -> Result<Self, ConsensusError> {
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
        let http = |what| {
            // Peers are addressed directly; a proxy from the environment must not apply.
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| ConsensusError::Config {
                    reason: format!("cannot build the {what} HTTP client: {e}"),
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
        Ok(Self {
            inner: Arc::new(Inner {
                node_id: config.node_id,
                raft,
                applied,
                forward_http: http("forwarding")?,
                forward_timeout: config.forward_timeout,
                leader_wait: config.leader_wait,
                stop: watch::Sender::new(false),
                tasks: Mutex::default(),
                storage_closed,
            }),
        })
    }

    /// The peer routes of this node, to serve on its peer port.
    pub fn router(&self) -> axum::Router {
        router::router(
            self.inner.raft.clone(),
            self.inner.node_id,
            self.inner.forward_timeout,
        )
    }

    pub fn node_id(&self) -> NodeId {
        self.inner.node_id
    }

    /// Commits `command` through the leader and returns what `apply` did.
    /// Works on any node; retries once when the leader changed before the
    /// command was appended.
    pub async fn propose(&self, command: Command) -> Result<Reply, ConsensusError> {
        self.with_leader(|leader| {
            let command = command.clone();
            async move {
                let outcome = match leader {
                    None => {
                        write_locally(&self.inner.raft, command, self.inner.forward_timeout).await
                    }
                    Some(addr) => {
                        let sent = client::propose(
                            &self.inner.forward_http,
                            &addr,
                            &command,
                            self.inner.forward_timeout,
                        )
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
        let read_id: LogId = self
            .with_leader(|leader| async move {
                let outcome = match leader {
                    None => read_index_locally(&self.inner.raft, self.inner.forward_timeout).await,
                    Some(addr) => {
                        let asked = client::read_index(
                            &self.inner.forward_http,
                            &addr,
                            self.inner.forward_timeout,
                        )
                        .await;
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
        self.inner
            .raft
            .wait(Some(self.inner.forward_timeout))
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

    /// The last applied log index; changes after every applied entry. Mark the
    /// value seen before reading, so no change falls between read and wait.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.applied.changes()
    }

    /// The leader this node knows of, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft_metrics().current_leader
    }

    pub fn metrics(&self) -> ConsensusMetrics {
        ConsensusMetrics::from(&self.raft_metrics())
    }

    /// Stops serving peers and stops the Raft node; the data directory can be
    /// opened again once this returns.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        if let Err(e) = self.inner.raft.shutdown().await {
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
        self.inner.raft.metrics().borrow_watched().clone()
    }

    /// Runs `attempt` against the leader (`None`: this node leads; `Some`: the
    /// leader's peer address), once more if it asks for a retry.
    async fn with_leader<T, F, Fut>(&self, attempt: F) -> Result<T, ConsensusError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut avoid = None;
        let mut hint = None;
        for tries_left in (0..2).rev() {
            let leader = self.await_leader(avoid, hint).await?;
            let target = if leader == self.inner.node_id {
                None
            } else {
                Some(self.address_of(leader).await?)
            };
            match attempt(target).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Failed(e) => return Err(e),
                Attempt::Retry { reason, hint: next } if tries_left == 0 => {
                    let _ = next;
                    return Err(ConsensusError::NoLeader { reason });
                }
                Attempt::Retry { reason, hint: next } => {
                    tracing::debug!(leader, %reason, "retrying with a new leader");
                    avoid = Some(leader);
                    hint = next.filter(|&next| next != leader);
                }
            }
        }
        unreachable!("the loop returns on its last try")
    }

    /// A leader to send to: `hint` if given, else the known leader, waiting
    /// (up to `leader_wait`) for one other than `avoid` if that is set.
    async fn await_leader(
        &self,
        avoid: Option<NodeId>,
        hint: Option<NodeId>,
    ) -> Result<NodeId, ConsensusError> {
        if let Some(hint) = hint {
            return Ok(hint);
        }
        let wanted = |m: &RaftMetrics<TypeConfig>| {
            m.current_leader.is_some() && (avoid.is_none() || m.current_leader != avoid)
        };
        let waited = self
            .inner
            .raft
            .wait(Some(self.inner.leader_wait))
            .metrics(wanted, "a known leader")
            .await;
        match waited {
            Ok(m) => m.current_leader.ok_or_else(no_leader),
            // The old leader may still lead after all: try it rather than fail.
            Err(_) => self.leader().ok_or_else(no_leader),
        }
    }

    /// The peer address of `leader`. A follower can learn who leads (from a
    /// vote or heartbeat) before the membership entry naming the leader's
    /// address reaches it, so wait briefly for that entry.
    async fn address_of(&self, leader: NodeId) -> Result<String, ConsensusError> {
        let address = |m: &RaftMetrics<TypeConfig>| {
            m.membership_config
                .membership()
                .get_node(&leader)
                .map(|peer| peer.addr.clone())
        };
        let known = self
            .inner
            .raft
            .wait(Some(self.inner.leader_wait))
            .metrics(|m| address(m).is_some(), "the leader's address")
            .await;
        known
            .ok()
            .and_then(|m| address(&m))
            .ok_or_else(|| ConsensusError::NoLeader {
                reason: format!("the address of leader {leader} is not known"),
            })
    }
}

fn no_leader() -> ConsensusError {
    ConsensusError::NoLeader {
        reason: "no leader was elected in time".to_owned(),
    }
}

/// A forwarded command that got no answer: retry only if it surely did not
/// arrive.
fn forward_failed<T>(e: PeerCallError) -> Attempt<T> {
    match e {
        PeerCallError::Unreachable { .. } => Attempt::Retry {
            reason: e.to_string(),
            hint: None,
        },
        PeerCallError::Timeout { .. } | PeerCallError::Failed { .. } => {
            Attempt::Failed(ConsensusError::OutcomeUnknown {
                reason: e.to_string(),
            })
        }
    }
}

//! [`ConsensusConfig`]: who this node is, where its Raft data lives, who its
//! peers are, and the Raft timings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::types::NodeId;

/// How one node takes part in the metadata group.
#[derive(Debug, Clone)]
pub struct ConsensusConfig {
    /// `PUBSUB_NODE_ID`; never reuse an id for a node that lost its disk.
    pub node_id: NodeId,
    /// `PUBSUB_DATA_DIR`: holds `raft.redb` (log, vote, snapshot).
    pub data_dir: PathBuf,
    /// Where the peer routes listen.
    pub listen: SocketAddr,
    /// Every voter, this node included, by id: `host:peer_port`. Empty means a
    /// single-node group reached at [`ConsensusConfig::listen`].
    pub peers: BTreeMap<NodeId, String>,
    /// Leader heartbeat period.
    pub heartbeat: Duration,
    /// A follower that hears no leader for a random time in this range starts
    /// an election.
    pub election_timeout: (Duration, Duration),
    /// Build a snapshot (and allow purging the log before it) after this many
    /// applied entries.
    pub snapshot_after_entries: u64,
    /// Entries kept in the log behind the last snapshot, so a lagging follower
    /// can catch up from the log instead of a snapshot transfer.
    pub log_entries_kept_after_snapshot: u64,
    /// How long a forwarded command or read-index request may take.
    pub forward_timeout: Duration,
    /// How long a proposal or read waits for a leader to become known.
    pub leader_wait: Duration,
}

impl ConsensusConfig {
    /// A node with production timings; set `peers` for a cluster.
    pub fn new(node_id: NodeId, data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            node_id,
            data_dir: data_dir.into(),
            listen,
            peers: BTreeMap::new(),
            heartbeat: Duration::from_millis(250),
            election_timeout: (Duration::from_millis(1_000), Duration::from_millis(2_000)),
            snapshot_after_entries: 5_000,
            log_entries_kept_after_snapshot: 1_000,
            forward_timeout: Duration::from_secs(5),
            leader_wait: Duration::from_secs(5),
        }
    }

    /// The peer address this node is known by.
    pub(crate) fn own_address(&self) -> String {
        self.peers
            .get(&self.node_id)
            .cloned()
            .unwrap_or_else(|| self.listen.to_string())
    }

    /// openraft's configuration, validated.
    pub(crate) fn raft_config(&self) -> Result<openraft::Config, String> {
        if !self.peers.is_empty() && !self.peers.contains_key(&self.node_id) {
            return Err(format!(
                "the peer list must include this node ({})",
                self.node_id
            ));
        }
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        openraft::Config {
            cluster_name: "pubsubgo-metadata".to_owned(),
            heartbeat_interval: millis(self.heartbeat),
            election_timeout_min: millis(self.election_timeout.0),
            election_timeout_max: millis(self.election_timeout.1),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_after_entries),
            max_in_snapshot_log_to_keep: self.log_entries_kept_after_snapshot,
            ..Default::default()
        }
        .validate()
        .map_err(|e| e.to_string())
    }
}

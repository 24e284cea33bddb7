//! [`ConsensusConfig`]: who this node is, where its Raft data lives, who its
//! peers are, and the Raft timings.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
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
    /// Every node that may form or join the group, this node included, by id:
    /// `host:peer_port`. Empty means a single-node group reached at
    /// [`ConsensusConfig::listen`].
    pub peers: BTreeMap<NodeId, String>,
    /// `PUBSUB_BOOTSTRAP_EXPECT`: how many of the lowest ids in `peers` form
    /// the group on first start; `None` means all of them. Listed nodes above
    /// these join the formed group on their own.
    pub bootstrap_expect: Option<usize>,
    /// Whether this node is one of the fixed voters (listed in `PUBSUB_PEERS`).
    /// A node that is not joins as a non-voting member (an openraft learner):
    /// it replicates the log and never votes or forms the group.
    pub voter: bool,
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
    /// How long the leader may take to add a node (catch it up as a learner,
    /// then promote it) or to remove one.
    pub membership_timeout: Duration,
    /// The local address this node's peer calls leave from; `None` lets the
    /// OS choose. Set where peers are told apart by source address (the
    /// tests' fault proxy cuts one node's traffic that way).
    pub source_ip: Option<IpAddr>,
    /// Mutual TLS for this node's peer calls: its certificate and the
    /// cluster CA. `None` calls peers over plain HTTP. The listener given to
    /// [`Consensus::serve`](crate::Consensus::serve) must match.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl ConsensusConfig {
    /// A node with production timings; set `peers` for a cluster.
    pub fn new(node_id: NodeId, data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            node_id,
            data_dir: data_dir.into(),
            listen,
            peers: BTreeMap::new(),
            bootstrap_expect: None,
            voter: true,
            heartbeat: Duration::from_millis(250),
            election_timeout: (Duration::from_millis(1_000), Duration::from_millis(2_000)),
            snapshot_after_entries: 5_000,
            log_entries_kept_after_snapshot: 1_000,
            forward_timeout: Duration::from_secs(5),
            leader_wait: Duration::from_secs(5),
            membership_timeout: Duration::from_secs(30),
            source_ip: None,
            tls: None,
        }
    }

    /// The peer address this node is known by.
    pub(crate) fn own_address(&self) -> String {
        self.peers
            .get(&self.node_id)
            .cloned()
            .unwrap_or_else(|| self.listen.to_string())
    }

    /// Every node by id, this one included (at its own address when the peer
    /// list is empty).
    pub(crate) fn members(&self) -> BTreeMap<NodeId, String> {
        let mut members = self.peers.clone();
        members.insert(self.node_id, self.own_address());
        members
    }

    /// How many of the lowest ids form the group on first start.
    pub(crate) fn voters_to_form(&self) -> usize {
        self.bootstrap_expect
            .unwrap_or_else(|| self.members().len())
    }

    /// openraft's configuration, validated.
    pub(crate) fn raft_config(&self) -> Result<openraft::Config, String> {
        if !self.peers.is_empty() && !self.peers.contains_key(&self.node_id) {
            return Err(format!(
                "the peer list must include this node ({})",
                self.node_id
            ));
        }
        let listed = self.members().len();
        if !(1..=listed).contains(&self.voters_to_form()) {
            return Err(format!(
                "bootstrap expect is {}, but {listed} node(s) are listed",
                self.voters_to_form()
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
            // A node that lost its disk comes back pristine under its old id
            // and answers the leader with an empty log. Without this the leader
            // treats that as a bug and panics; with it the leader replicates
            // to the node from the start again. The lost disk itself is the
            // hazard (a forgotten vote or entry), not this setting.
            allow_log_reversion: Some(true),
            ..Default::default()
        }
        .validate()
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_listed(bootstrap_expect: Option<usize>) -> ConsensusConfig {
        let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
        let mut config = ConsensusConfig::new(NodeId::new(1), "unused", listen);
        config.peers = (1..=3)
            .map(|id| (NodeId::new(id), format!("node-{id}:1")))
            .collect();
        config.bootstrap_expect = bootstrap_expect;
        config
    }

    #[test]
    fn bootstrap_expect_defaults_to_every_listed_node_and_must_fit_the_list() {
        assert_eq!(three_listed(None).voters_to_form(), 3);
        assert_eq!(three_listed(Some(2)).voters_to_form(), 2);
        assert!(three_listed(Some(2)).raft_config().is_ok());
        for wrong in [0, 4] {
            let refused = three_listed(Some(wrong)).raft_config();
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|e| e.contains("bootstrap expect")),
                "{wrong}: {refused:?}"
            );
        }
    }
}

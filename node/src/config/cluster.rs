//! [`ClusterSettings`]: who this node is among its peers, and how the cluster
//! forms.
//!
//! Peers are listed as `id=host:port` pairs (the peer port), comma-separated,
//! as etcd's `--initial-cluster` does: `1=node-1:8082,2=node-2:8082,3=node-3:8082`.
//! The list may include this node; it must if no advertise address is set.
//! The listed ids are the fixed voter set; a node outside it (with its own
//! advertise address) joins as a non-voting member.
//! With no peers the node is a single-node cluster, as before.
//!
//! # Identity in a StatefulSet
//! The node id is a number, or a StatefulSet pod name, whose ordinal is the id:
//! `pubsubgo-2` → 2 (the last `-`-separated part of the name). So a pod can set
//! `PUBSUB_NODE_ID` from its own name (downward API `metadata.name`), or from the
//! pod-index label `apps.kubernetes.io/pod-index` (Kubernetes 1.28+), which is
//! the ordinal itself. The peers are then the headless service's stable names,
//! one per ordinal: `0=pubsubgo-0.pubsubgo-headless:8082,1=pubsubgo-1.…`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use cluster::NodeId;
use serde::Deserialize;

use super::error::ConfigError;

/// How long the leader waits for a silent node before giving its partitions
/// to the others.
pub const DEFAULT_OWNER_TIMEOUT: Duration = Duration::from_secs(10);

/// The resolved cluster settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    pub node_id: NodeId,
    pub data_dir: PathBuf,
    /// Where the peer port listens.
    pub peer_addr: SocketAddr,
    /// The address other nodes reach this node's peer port at; `None` for a
    /// single node, which advertises [`ClusterSettings::peer_addr`].
    pub advertise: Option<String>,
    /// Every other node's peer address by id (this node excluded).
    pub peers: BTreeMap<NodeId, String>,
    /// Whether this node is one of the voters: listed in the peers, or alone.
    /// Otherwise it joins as a non-voting member and drains before it stops.
    pub voter: bool,
    /// How many of the lowest ids form the cluster on first start; the rest
    /// join it. Defaults to every listed node.
    pub bootstrap_expect: Option<usize>,
    /// A node silent this long loses its partitions to the live nodes.
    pub owner_timeout: Duration,
    /// The most storage calls, and the most watches, one calling node may
    /// have in flight on another node's peer port (the caller holds more
    /// back; the owner refuses more with 503).
    pub peer_max_in_flight: usize,
    /// The local address peer calls (Raft, forwarding, storage) leave from;
    /// `None` lets the OS choose. Not a setting: tests that cut one node's
    /// peer traffic by source address set it (`testkit`'s fault proxy).
    pub peer_source_ip: Option<IpAddr>,
}

/// A node id as given: a number, or a StatefulSet pod name ending in its
/// ordinal (`pubsubgo-2` is node 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "NodeIdText")]
pub struct NodeIdSetting(pub u64);

impl FromStr for NodeIdSetting {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        let ordinal = match value.rsplit_once('-') {
            Some((name, ordinal)) if !name.is_empty() => ordinal,
            Some(_) => "",
            None => value,
        };
        if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "node id {value:?} is neither a number nor a StatefulSet pod name \
                 ending in its ordinal, like pubsubgo-2"
            ));
        }
        ordinal
            .parse()
            .map(Self)
            .map_err(|e| format!("node id {value:?}: {e}"))
    }
}

impl NodeIdSetting {
    /// Parses a node id as a flag or environment value gives it.
    pub fn parse_id(value: &str) -> Result<u64, String> {
        value.parse::<Self>().map(|id| id.0)
    }
}

/// The file may give the id as a YAML number or as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum NodeIdText {
    Number(u64),
    Text(String),
}

impl TryFrom<NodeIdText> for NodeIdSetting {
    type Error = String;

    fn try_from(value: NodeIdText) -> Result<Self, Self::Error> {
        match value {
            NodeIdText::Number(id) => Ok(Self(id)),
            NodeIdText::Text(text) => text.parse(),
        }
    }
}

/// The raw inputs, after flag > environment > file precedence.
#[derive(Debug, Default)]
pub(super) struct ClusterInputs {
    pub node_id: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub peers: Option<String>,
    pub advertise: Option<String>,
    pub bootstrap_expect: Option<usize>,
    pub owner_timeout_seconds: Option<u64>,
    pub peer_max_in_flight: Option<usize>,
}

impl ClusterSettings {
    pub(super) fn resolve(
        inputs: ClusterInputs,
        peer_addr: SocketAddr,
    ) -> Result<Self, ConfigError> {
        let node_id = NodeId::new(inputs.node_id.unwrap_or(0));
        let mut peers = match inputs.peers.as_deref() {
            Some(list) => parse_peers(list)?,
            None => BTreeMap::new(),
        };
        let listed_self = peers.remove(&node_id);
        let voter = peers.is_empty() || listed_self.is_some();
        let advertise = inputs.advertise.or(listed_self);
        if !peers.is_empty() && advertise.is_none() {
            return Err(ConfigError::Invalid(format!(
                "node {node_id} is not in the peer list and has no advertise address; \
                 list it as {node_id}=host:port or set PUBSUB_ADVERTISE_ADDR"
            )));
        }
        let members = peers.len() + 1;
        if let Some(expect) = inputs.bootstrap_expect
            && (expect == 0 || expect > members)
        {
            return Err(ConfigError::Invalid(format!(
                "bootstrap expect is {expect}, but {members} node(s) are listed (this one included)"
            )));
        }
        let owner_timeout = inputs
            .owner_timeout_seconds
            .map_or(DEFAULT_OWNER_TIMEOUT, Duration::from_secs);
        if owner_timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "the owner timeout must be at least 1 second".to_owned(),
            ));
        }
        let peer_max_in_flight = inputs
            .peer_max_in_flight
            .unwrap_or(crate::routing::DEFAULT_MAX_IN_FLIGHT);
        if peer_max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "the peer in-flight cap must be at least 1".to_owned(),
            ));
        }
        Ok(Self {
            node_id,
            data_dir: inputs.data_dir.unwrap_or_else(|| PathBuf::from("data")),
            peer_addr,
            advertise,
            peers,
            voter,
            bootstrap_expect: inputs.bootstrap_expect,
            owner_timeout,
            peer_max_in_flight,
            peer_source_ip: None,
        })
    }

    /// The address this node gives to others.
    pub fn advertised(&self) -> String {
        self.advertise
            .clone()
            .unwrap_or_else(|| self.peer_addr.to_string())
    }
}

/// Parses `id=host:port,id=host:port`; blanks around items are ignored.
pub fn parse_peers(list: &str) -> Result<BTreeMap<NodeId, String>, ConfigError> {
    let invalid = |item: &str, why: &str| {
        ConfigError::Invalid(format!(
            "invalid peer {item:?} in the peer list: {why} (expected id=host:port)"
        ))
    };
    let mut peers = BTreeMap::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (id, addr) = item
            .split_once('=')
            .ok_or_else(|| invalid(item, "no '='"))?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| invalid(item, "the id is not a number"))?;
        let addr = addr.trim();
        let port_ok = addr
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(invalid(item, "the address needs a host and a port"));
        }
        if peers.insert(id, addr.to_owned()).is_some() {
            return Err(invalid(item, "the id is listed twice"));
        }
    }
    Ok(peers)
}

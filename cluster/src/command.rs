//! Commands change metadata; replies say what changed.
//!
//! New variants are only ever appended: commands are stored in logs that outlive
//! a release, and positional encodings depend on variant order.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::group::{MemberAssignment, MemberId};
use crate::placement::{PartitionMove, PlannedMove};
use crate::{
    NodeId, Subscription, SubscriptionConfig, SubscriptionName, Topic, TopicConfig, TopicName,
};

/// A change to the metadata. Carries its own timestamp so `apply` stays pure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    CreateTopic {
        name: TopicName,
        config: TopicConfig,
        at_millis: u64,
    },
    /// Deletes the topic and every subscription attached to it.
    DeleteTopic {
        name: TopicName,
    },
    CreateSubscription {
        name: SubscriptionName,
        config: SubscriptionConfig,
        at_millis: u64,
    },
    DeleteSubscription {
        name: SubscriptionName,
    },
    /// Adds a member to a partitioned subscription's group and rebalances.
    /// The node chooses `member_id`, so applying stays deterministic.
    JoinGroup {
        subscription: SubscriptionName,
        member_id: MemberId,
        session_timeout_millis: u64,
        at_millis: u64,
    },
    /// Keeps a member's session alive. `generation` is the newest the member
    /// knows; an old one is fine, the reply carries the current assignment.
    Heartbeat {
        subscription: SubscriptionName,
        member_id: MemberId,
        generation: u64,
        at_millis: u64,
    },
    /// Removes a member at its own request and rebalances.
    LeaveGroup {
        subscription: SubscriptionName,
        member_id: MemberId,
    },
    /// Removes every member whose last heartbeat is at least its session
    /// timeout older than `at_millis`, and rebalances if any went.
    ExpireMembers {
        subscription: SubscriptionName,
        at_millis: u64,
    },
    /// Adds a cluster node, or marks a known one live at a (new) address.
    /// Gives owners to partitions that had none; takes none from other nodes.
    RegisterNode {
        id: NodeId,
        peer_addr: String,
    },
    /// Marks a node down (its partitions move to the live nodes at once) or
    /// live again (it takes partitions back only through [`Command::Rebalance`]).
    SetNodeLive {
        id: NodeId,
        live: bool,
    },
    /// Forgets a node; its partitions move to the live nodes.
    RemoveNode {
        id: NodeId,
    },
    /// Moves every partition to its rendezvous owner over the live nodes.
    Rebalance,
    /// Moves the listed partitions, each only if it still has the planned
    /// owner epoch and its target is live: one bounded step of the automatic
    /// rebalance (format version 2).
    MovePartitions {
        #[serde(serialize_with = "crate::wire_format::since_v2")]
        moves: Vec<PlannedMove>,
    },
}

/// A short form for logs: the command's kind and the resource it changes.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::CreateTopic { name, .. } => write!(f, "CreateTopic({name})"),
            Command::DeleteTopic { name } => write!(f, "DeleteTopic({name})"),
            Command::CreateSubscription { name, .. } => write!(f, "CreateSubscription({name})"),
            Command::DeleteSubscription { name } => write!(f, "DeleteSubscription({name})"),
            Command::JoinGroup {
                subscription,
                member_id,
                ..
            } => write!(f, "JoinGroup({subscription}, {member_id})"),
            Command::Heartbeat {
                subscription,
                member_id,
                ..
            } => write!(f, "Heartbeat({subscription}, {member_id})"),
            Command::LeaveGroup {
                subscription,
                member_id,
            } => write!(f, "LeaveGroup({subscription}, {member_id})"),
            Command::ExpireMembers { subscription, .. } => {
                write!(f, "ExpireMembers({subscription})")
            }
            Command::RegisterNode { id, peer_addr } => write!(f, "RegisterNode({id}, {peer_addr})"),
            Command::SetNodeLive { id, live } => write!(f, "SetNodeLive({id}, {live})"),
            Command::RemoveNode { id } => write!(f, "RemoveNode({id})"),
            Command::Rebalance => f.write_str("Rebalance"),
            Command::MovePartitions { moves } => write!(f, "MovePartitions({})", moves.len()),
        }
    }
}

/// What a successfully applied [`Command`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    TopicCreated(Topic),
    TopicDeleted {
        topic: Topic,
        /// Subscriptions removed together with the topic.
        subscriptions: Vec<SubscriptionName>,
    },
    SubscriptionCreated(Subscription),
    SubscriptionDeleted(Subscription),
    GroupJoined(MemberAssignment),
    HeartbeatAccepted(MemberAssignment),
    GroupLeft {
        member_id: MemberId,
        /// The group's generation after the member left.
        generation: u64,
    },
    MembersExpired {
        /// Removed members, in id order; empty when every session was alive.
        expired: Vec<MemberId>,
        generation: u64,
    },
    /// Partitions that changed owner, each with its new epoch (maybe none).
    PartitionsMoved(Vec<PartitionMove>),
}

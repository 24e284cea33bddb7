//! Consumer groups of `partitioned` subscriptions, on the broker side.
//!
//! The group itself (members, sessions, generation, sticky assignment) lives in
//! the metadata (`cluster::group`) and changes only through
//! [`MetadataStore::propose`](crate::metadata_store::MetadataStore::propose):
//! this module turns requests into `JoinGroup`, `Heartbeat` and `LeaveGroup`
//! commands, and [`run_group_expiry`] proposes `ExpireMembers` every
//! [`GROUP_EXPIRY_INTERVAL`] for groups with a lapsed member.
//!
//! Delivery: a pull or stream on a partitioned subscription names its member;
//! [`Broker::delivery_scope`] is the hook `lease_batch` calls to learn which
//! partitions it may lease from and under which generation. The scope is read
//! from one metadata snapshot per batch, so every message of a batch carries
//! the generation whose assignment gave its partition to that member, and a
//! `(generation, partition)` pair is never served to two members. Messages the
//! previous owner of a moved partition still holds stay leased to it until
//! acked or their ack deadline passes, as on any subscription.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use api::timestamp::Timestamp;
use api::types::{
    ConsumerGroup as ApiGroup, GroupMember, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    ReceivedMessage,
};
use cluster::group::DEFAULT_SESSION_TIMEOUT_SECONDS;
use cluster::{
    Command, MemberAssignment, MemberId, MetadataError, Reply, Subscription, SubscriptionName,
    SubscriptionType, TopicName,
};

use super::delivery::DeliveryTarget;
use super::{Broker, BrokerError};

/// How often lapsed members are looked for. A member is removed at most this
/// long after its session timeout.
pub const GROUP_EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// The partitions one delivery may lease from, and the generation it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryScope {
    /// Ascending.
    pub partitions: Vec<u32>,
    /// `Some` on partitioned subscriptions; stamped on every delivered message.
    pub generation: Option<u64>,
}

impl DeliveryScope {
    /// Marks messages leased under this scope with its generation.
    pub fn stamp(&self, messages: &mut [ReceivedMessage]) {
        for message in messages {
            message.generation = self.generation;
        }
    }
}

/// Issues member ids: a random per-process prefix and a sequence number, so ids
/// from different processes (and restarts) do not collide. `apply` rejects a
/// duplicate id anyway, so a collision could only fail a join, never merge two
/// members.
#[derive(Debug)]
pub struct MemberIds {
    prefix: u64,
    next: AtomicU64,
}

impl MemberIds {
    pub fn new() -> Self {
        // `RandomState` is seeded from the OS's randomness.
        let prefix = RandomState::new().hash_one(std::process::id());
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    fn issue(&self) -> MemberId {
        let sequence = self.next.fetch_add(1, Ordering::Relaxed);
        MemberId::new(format!("m-{:016x}-{sequence}", self.prefix))
            .unwrap_or_else(|e| unreachable!("generated member ids are valid: {e}"))
    }
}

impl Default for MemberIds {
    fn default() -> Self {
        Self::new()
    }
}

impl Broker {
    /// Joins the group of a partitioned subscription with a fresh member id.
    pub async fn join_group(
        &self,
        name: &str,
        request: JoinGroupRequest,
    ) -> Result<JoinGroupResponse, BrokerError> {
        let name = SubscriptionName::new(name)?;
        let topic = self.subscription(&name)?.config.topic;
        let seconds = request
            .session_timeout_seconds
            .unwrap_or(DEFAULT_SESSION_TIMEOUT_SECONDS);
        let command = Command::JoinGroup {
            subscription: name,
            member_id: self.member_ids.issue(),
            session_timeout_millis: u64::from(seconds) * 1000,
            at_millis: self.clock.now_millis(),
        };
        let assignment = match self.metadata.propose(command).await? {
            Reply::GroupJoined(assignment) => assignment,
            other => unreachable!("JoinGroup replied {other:?}"),
        };
        tracing::info!(member = %assignment.member_id, generation = assignment.generation,
            partitions = ?assignment.partitions, "member joined");
        self.wake(&topic);
        Ok(JoinGroupResponse {
            member_id: assignment.member_id.to_string(),
            generation: assignment.generation,
            partitions: assignment.partitions,
            heartbeat_interval_seconds: (seconds / 3).max(1),
        })
    }

    /// Keeps a member's session alive and answers its current assignment.
    pub async fn heartbeat(
        &self,
        name: &str,
        member_id: &str,
        generation: u64,
    ) -> Result<HeartbeatResponse, BrokerError> {
        let command = Command::Heartbeat {
            subscription: SubscriptionName::new(name)?,
            member_id: MemberId::new(member_id)?,
            generation,
            at_millis: self.clock.now_millis(),
        };
        match self.metadata.propose(command).await? {
            Reply::HeartbeatAccepted(MemberAssignment {
                generation,
                partitions,
                ..
            }) => Ok(HeartbeatResponse {
                generation,
                partitions,
            }),
            other => unreachable!("Heartbeat replied {other:?}"),
        }
    }

    /// Removes a member at once; its partitions go to the others.
    pub async fn leave_group(&self, name: &str, member_id: &str) -> Result<(), BrokerError> {
        let name = SubscriptionName::new(name)?;
        let topic = self.subscription(&name)?.config.topic;
        let command = Command::LeaveGroup {
            subscription: name,
            member_id: MemberId::new(member_id)?,
        };
        if let Reply::GroupLeft { generation, .. } = self.metadata.propose(command).await? {
            tracing::info!(member = member_id, generation, "member left");
        }
        self.wake(&topic);
        Ok(())
    }

    /// Proposes `ExpireMembers` for every group with a lapsed session. Groups
    /// where every session is alive cost no command (and, later, no Raft entry).
    pub async fn expire_group_members(&self) {
        let now = self.clock.now_millis();
        let due: Vec<(SubscriptionName, Option<TopicName>)> = self.metadata.read(|md| {
            md.groups()
                .filter(|(_, group)| group.members().values().any(|m| m.is_expired(now)))
                .map(|(name, _)| {
                    let topic = md.subscription(name).map(|s| s.config.topic.clone());
                    (name.clone(), topic)
                })
                .collect()
        });
        for (name, topic) in due {
            let command = Command::ExpireMembers {
                subscription: name.clone(),
                at_millis: now,
            };
            match self.metadata.propose(command).await {
                Ok(Reply::MembersExpired {
                    expired,
                    generation,
                }) if !expired.is_empty() => {
                    tracing::info!(subscription = %name, ?expired, generation, "members expired");
                    if let Some(topic) = topic {
                        self.wake(&topic);
                    }
                }
                Ok(_) => {}
                // Deleted meanwhile: nothing left to expire.
                Err(raft::ConsensusError::Rejected(MetadataError::SubscriptionNotFound {
                    ..
                })) => {}
                Err(error) => {
                    tracing::warn!(subscription = %name, %error, "expiring group members failed")
                }
            }
        }
    }

    /// A delivery target for one member of a partitioned subscription's group.
    pub async fn member_target(
        &self,
        name: &str,
        member_id: &str,
    ) -> Result<DeliveryTarget, BrokerError> {
        let member = MemberId::new(member_id)?;
        let mut target = self.delivery_target(name).await?;
        if target.subscription.config.kind != SubscriptionType::Partitioned {
            return Err(BrokerError::precondition(format!(
                "memberId is only for partitioned subscriptions; {name} is shared"
            )));
        }
        target.member = Some(member);
        Ok(target)
    }

    /// Long-polls as one member: only its partitions are served.
    pub async fn pull_as_member(
        &self,
        name: &str,
        member_id: &str,
        max: u32,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, BrokerError> {
        let target = self.member_target(name, member_id).await?;
        self.pull_target(&target, max, wait).await
    }

    /// Which partitions a lease of up to `max` messages for `target` may use
    /// now. A shared subscription serves every partition; a partitioned one only
    /// the current partitions of the target's member, which must still be in
    /// the group. A lease of 0 messages delivers nothing, so it needs no member
    /// and covers every partition (upkeep such as processing expired leases).
    pub fn delivery_scope(
        &self,
        target: &DeliveryTarget,
        max: usize,
    ) -> Result<DeliveryScope, BrokerError> {
        let sub = &target.subscription;
        let every_partition = DeliveryScope {
            partitions: (0..target.topic.config.partitions).collect(),
            generation: None,
        };
        match (sub.config.kind, &target.member) {
            (SubscriptionType::Shared, _) => Ok(every_partition),
            (SubscriptionType::Partitioned, None) if max == 0 => Ok(every_partition),
            (SubscriptionType::Partitioned, None) => Err(BrokerError::precondition(format!(
                "{} is a partitioned subscription: join its group (:join) and pass the memberId",
                sub.name
            ))),
            (SubscriptionType::Partitioned, Some(member)) => {
                let assignment = self.metadata.read(|md| match md.group(&sub.name) {
                    Some(group) => group.assignment_of(&sub.name, member),
                    None => Err(MetadataError::UnknownMember {
                        subscription: sub.name.to_string(),
                        member_id: member.to_string(),
                    }),
                })?;
                Ok(DeliveryScope {
                    partitions: assignment.partitions,
                    generation: Some(assignment.generation),
                })
            }
        }
    }

    /// The group as `GET /v1/subscriptions/{sub}` shows it; `None` for shared subscriptions.
    pub(super) fn group_view(&self, sub: &Subscription) -> Option<ApiGroup> {
        if sub.config.kind != SubscriptionType::Partitioned {
            return None;
        }
        let view = self.metadata.read(|md| {
            let Some(group) = md.group(&sub.name) else {
                return ApiGroup {
                    generation: 0,
                    members: Vec::new(),
                };
            };
            ApiGroup {
                generation: group.generation(),
                members: group
                    .members()
                    .iter()
                    .map(|(id, member)| GroupMember {
                        member_id: id.to_string(),
                        partitions: group.partitions_of(id),
                        last_heartbeat_time: Timestamp(member.last_heartbeat_millis).to_string(),
                        session_timeout_seconds: u32::try_from(
                            member.session_timeout_millis / 1000,
                        )
                        .unwrap_or(u32::MAX),
                    })
                    .collect(),
            }
        });
        Some(view)
    }
}

/// Proposes `ExpireMembers` every [`GROUP_EXPIRY_INTERVAL`] until the broker
/// shuts down. [`crate::server::run`] starts it; tests that drive the router
/// in-process spawn it themselves.
pub async fn run_group_expiry(broker: Arc<Broker>) {
    let mut tick = tokio::time::interval(GROUP_EXPIRY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => broker.expire_group_members().await,
            () = broker.shutdown_token().cancelled() => return,
        }
    }
}

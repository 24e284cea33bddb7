//! [`ConsumerGroups`]: the consumer groups of `partitioned` subscriptions, on
//! the broker side.
//!
//! The group itself (members, sessions, generation, sticky assignment) lives in
//! the metadata (`cluster::group`) and changes only through
//! [`MetadataStore::propose`](crate::metadata_store::MetadataStore::propose):
//! this module turns requests into `JoinGroup`, `Heartbeat` and `LeaveGroup`
//! commands, and [`ConsumerGroups::run_expiry`] proposes `ExpireMembers` every
//! [`GROUP_EXPIRY_INTERVAL`] for groups with a lapsed member.
//!
//! `UNKNOWN_MEMBER` is an answer this node can vouch for: heartbeats and
//! leaves are decided by the leader (they are commands), and a pull or stream
//! whose member this node has not applied yet looks again after a Raft read
//! index ([`MetadataView::fresh`]); when that read index cannot be had, the
//! answer is `503 UNAVAILABLE`, which clients retry without rejoining.
//!
//! Delivery: a pull or stream on a partitioned subscription names its member;
//! [`scope::delivery_scope`] is the hook `Delivery::lease_batch` calls to
//! learn which partitions it may lease from and under which generation. The scope is read
//! from one metadata snapshot per batch, so every message of a batch carries
//! the generation whose assignment gave its partition to that member, and a
//! `(generation, partition)` pair is never served to two members. Messages the
//! previous owner of a moved partition still holds stay leased to it until
//! acked or their ack deadline passes, as on any subscription.

//!
//! - this file: joins, heartbeats, leaves, expiry, and member targets.
//! - [`scope`]: the partitions a member's delivery may use.
//! - [`member_ids`]: the ids this node gives joining members (UUID v7).

pub mod member_ids;
pub mod scope;

use std::sync::Arc;
use std::time::Duration;

use api::types::{HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, ReceivedMessage};
use cluster::group::DEFAULT_SESSION_TIMEOUT_SECONDS;
use cluster::{
    Command, MemberAssignment, MemberId, MetadataError, Reply, SubscriptionName, SubscriptionType,
    TopicName,
};
use tokio_util::sync::CancellationToken;

use self::member_ids::new_member_id;
use self::scope::{DeliveryScope, delivery_scope};
use crate::broker::delivery::Delivery;
use crate::broker::delivery::target::DeliveryTarget;
use crate::broker::error::BrokerError;
use crate::broker::metadata_view::MetadataView;
use crate::broker::wakers::TopicWakers;
use crate::clock::Clock;

/// How often lapsed members are looked for. A member is removed at most this
/// long after its session timeout.
pub const GROUP_EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// Changes group membership through the metadata and serves members through
/// [`Delivery`]. Its state is the metadata's; it holds only handles.
#[derive(Debug)]
pub struct ConsumerGroups {
    metadata: MetadataView,
    clock: Clock,
    wakers: Arc<TopicWakers>,
    delivery: Arc<Delivery>,
}

impl ConsumerGroups {
    pub fn new(
        metadata: MetadataView,
        clock: Clock,
        wakers: Arc<TopicWakers>,
        delivery: Arc<Delivery>,
    ) -> Self {
        Self {
            metadata,
            clock,
            wakers,
            delivery,
        }
    }

    /// Joins the group of a partitioned subscription with a fresh member id.
    pub async fn join_group(
        &self,
        name: &str,
        request: JoinGroupRequest,
    ) -> Result<JoinGroupResponse, BrokerError> {
        let name = SubscriptionName::new(name)?;
        let topic = self.topic_of(&name).await?;
        let seconds = request
            .session_timeout_seconds
            .unwrap_or(DEFAULT_SESSION_TIMEOUT_SECONDS);
        let now = self.clock.now_millis();
        let command = Command::JoinGroup {
            subscription: name,
            member_id: new_member_id(now),
            session_timeout_millis: u64::from(seconds) * 1000,
            at_millis: now,
        };
        let assignment = match self.metadata.store().propose(command).await? {
            Reply::GroupJoined(assignment) => assignment,
            other => unreachable!("JoinGroup replied {other:?}"),
        };
        tracing::info!(member = %assignment.member_id, generation = assignment.generation,
            partitions = ?assignment.partitions, "member joined");
        self.wakers.wake(&topic);
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
        // An unknown outcome stays `504 OUTCOME_UNKNOWN`: `503` would say the
        // session was not restarted. Either way the member retries.
        let reply = self.metadata.store().propose(command).await?;
        match reply {
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
        let topic = self.topic_of(&name).await?;
        let command = Command::LeaveGroup {
            subscription: name,
            member_id: MemberId::new(member_id)?,
        };
        if let Reply::GroupLeft { generation, .. } = self.metadata.store().propose(command).await? {
            tracing::info!(member = member_id, generation, "member left");
        }
        self.wakers.wake(&topic);
        Ok(())
    }

    /// Proposes `ExpireMembers` for every group with a lapsed session. Groups
    /// where every session is alive cost no command (and, later, no Raft entry).
    pub async fn expire_members(&self) {
        let now = self.clock.now_millis();
        let due: Vec<(SubscriptionName, Option<TopicName>)> = self.metadata.store().read(|md| {
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
            match self.metadata.store().propose(command).await {
                Ok(Reply::MembersExpired {
                    expired,
                    generation,
                }) if !expired.is_empty() => {
                    tracing::info!(subscription = %name, ?expired, generation, "members expired");
                    if let Some(topic) = topic {
                        self.wakers.wake(&topic);
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
        let mut target = self.delivery.target(name).await?;
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
        self.delivery.pull_target(&target, max, wait).await
    }

    /// Which partitions a lease of up to `max` messages for `target` may use
    /// now (see [`delivery_scope`]); a member this node does not know is
    /// looked for again after a read index before it is called unknown.
    pub async fn delivery_scope(
        &self,
        target: &DeliveryTarget,
        max: usize,
    ) -> Result<DeliveryScope, BrokerError> {
        self.metadata
            .fresh(|| delivery_scope(self.metadata.store(), target, max))
            .await
    }

    /// The topic of subscription `name`, asking the leader before answering
    /// not found (the group commands themselves are decided by the leader).
    async fn topic_of(&self, name: &SubscriptionName) -> Result<TopicName, BrokerError> {
        let subscription = self
            .metadata
            .fresh(|| self.metadata.subscription(name))
            .await?;
        Ok(subscription.config.topic)
    }

    /// Proposes `ExpireMembers` every [`GROUP_EXPIRY_INTERVAL`] until
    /// `shutdown`. [`crate::server::run`] starts it; tests that drive the
    /// router in-process spawn it themselves.
    pub async fn run_expiry(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(GROUP_EXPIRY_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.expire_members().await,
                () = shutdown.cancelled() => return,
            }
        }
    }
}

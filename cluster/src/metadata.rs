//! The metadata state and its deterministic transition function.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::{
    Command, ConsumerGroup, MetadataError, NodeId, Placement, Reply, Subscription,
    SubscriptionName, SubscriptionType, Topic, TopicName,
};

/// Topics, subscriptions and consumer groups, as agreed by the cluster.
///
/// Invariants: every subscription's topic exists; every group belongs to an
/// existing `partitioned` subscription. A group is created by its first join
/// and kept (with its generation) until its subscription is deleted, so a
/// generation number is never reused for the subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    topics: BTreeMap<TopicName, Topic>,
    subscriptions: BTreeMap<SubscriptionName, Subscription>,
    #[serde(default)]
    groups: BTreeMap<SubscriptionName, ConsumerGroup>,
    /// Cluster nodes and partition owners.
    #[serde(default)]
    placement: Placement,
}

impl Metadata {
    /// Applies one command. On error nothing changed.
    pub fn apply(&mut self, command: Command) -> Result<Reply, MetadataError> {
        match command {
            Command::CreateTopic {
                name,
                config,
                at_millis,
            } => {
                config.validate()?;
                if self.topics.contains_key(&name) {
                    return Err(MetadataError::TopicAlreadyExists { name: name.into() });
                }
                let topic = Topic {
                    name: name.clone(),
                    config,
                    created_at_millis: at_millis,
                };
                self.placement.add_topic(&name, topic.config.partitions);
                self.topics.insert(name, topic.clone());
                Ok(Reply::TopicCreated(topic))
            }
            Command::DeleteTopic { name } => {
                let topic = self
                    .topics
                    .remove(&name)
                    .ok_or_else(|| MetadataError::TopicNotFound { name: name.into() })?;
                self.placement.remove_topic(&topic.name);
                let subscriptions: Vec<SubscriptionName> = self
                    .subscriptions_of(&topic.name)
                    .map(|s| s.name.clone())
                    .collect();
                for sub in &subscriptions {
                    self.subscriptions.remove(sub);
                    self.groups.remove(sub);
                }
                Ok(Reply::TopicDeleted {
                    topic,
                    subscriptions,
                })
            }
            Command::CreateSubscription {
                name,
                config,
                at_millis,
            } => {
                config.validate()?;
                if !self.topics.contains_key(&config.topic) {
                    return Err(MetadataError::TopicNotFound {
                        name: config.topic.into(),
                    });
                }
                if let Some(dead) = &config.dead_letter_policy
                    && !self.topics.contains_key(&dead.dead_letter_topic)
                {
                    return Err(MetadataError::TopicNotFound {
                        name: dead.dead_letter_topic.to_string(),
                    });
                }
                if self.subscriptions.contains_key(&name) {
                    return Err(MetadataError::SubscriptionAlreadyExists { name: name.into() });
                }
                let subscription = Subscription {
                    name: name.clone(),
                    config,
                    created_at_millis: at_millis,
                };
                self.subscriptions.insert(name, subscription.clone());
                Ok(Reply::SubscriptionCreated(subscription))
            }
            Command::DeleteSubscription { name } => {
                self.groups.remove(&name);
                self.subscriptions
                    .remove(&name)
                    .map(Reply::SubscriptionDeleted)
                    .ok_or_else(|| MetadataError::SubscriptionNotFound { name: name.into() })
            }
            Command::JoinGroup {
                subscription,
                member_id,
                session_timeout_millis,
                at_millis,
            } => self.with_group(&subscription, |group, partitions| {
                group
                    .join(
                        &subscription,
                        member_id,
                        session_timeout_millis,
                        at_millis,
                        partitions,
                    )
                    .map(Reply::GroupJoined)
            }),
            Command::Heartbeat {
                subscription,
                member_id,
                generation,
                at_millis,
            } => self.with_group(&subscription, |group, _| {
                group
                    .heartbeat(&subscription, &member_id, generation, at_millis)
                    .map(Reply::HeartbeatAccepted)
            }),
            Command::LeaveGroup {
                subscription,
                member_id,
            } => self.with_group(&subscription, |group, partitions| {
                group.leave(&subscription, &member_id, partitions)?;
                Ok(Reply::GroupLeft {
                    member_id,
                    generation: group.generation(),
                })
            }),
            Command::ExpireMembers {
                subscription,
                at_millis,
            } => self.with_group(&subscription, |group, partitions| {
                let expired = group.expire(at_millis, partitions);
                Ok(Reply::MembersExpired {
                    expired,
                    generation: group.generation(),
                })
            }),
            Command::RegisterNode { id, peer_addr } => Ok(Reply::PartitionsMoved(
                self.placement.register(id, peer_addr),
            )),
            Command::SetNodeLive { id, live } => {
                self.known_node(id)?;
                Ok(Reply::PartitionsMoved(self.placement.set_live(id, live)))
            }
            Command::RemoveNode { id } => {
                self.known_node(id)?;
                Ok(Reply::PartitionsMoved(self.placement.remove(id)))
            }
            Command::Rebalance => Ok(Reply::PartitionsMoved(self.placement.rebalance())),
            Command::MovePartitions { moves } => Ok(Reply::PartitionsMoved(
                self.placement.move_partitions(&moves),
            )),
        }
    }

    /// Runs a group command on the group of a partitioned subscription, passing
    /// the topic's partition count. `f` must change nothing when it fails. A
    /// group that is still empty after `f` is not stored (no state for no-ops).
    fn with_group(
        &mut self,
        subscription: &SubscriptionName,
        f: impl FnOnce(&mut ConsumerGroup, u32) -> Result<Reply, MetadataError>,
    ) -> Result<Reply, MetadataError> {
        let sub = self.subscriptions.get(subscription).ok_or_else(|| {
            MetadataError::SubscriptionNotFound {
                name: subscription.to_string(),
            }
        })?;
        if sub.config.kind != SubscriptionType::Partitioned {
            return Err(MetadataError::NotPartitioned {
                name: subscription.to_string(),
            });
        }
        let partitions = self
            .topics
            .get(&sub.config.topic)
            .map(|t| t.config.partitions)
            .ok_or_else(|| MetadataError::TopicNotFound {
                name: sub.config.topic.to_string(),
            })?;
        if let Some(group) = self.groups.get_mut(subscription) {
            return f(group, partitions);
        }
        let mut group = ConsumerGroup::default();
        let reply = f(&mut group, partitions)?;
        if group != ConsumerGroup::default() {
            self.groups.insert(subscription.clone(), group);
        }
        Ok(reply)
    }

    fn known_node(&self, id: NodeId) -> Result<(), MetadataError> {
        self.placement
            .node(id)
            .map(|_| ())
            .ok_or(MetadataError::NodeNotFound { id })
    }

    /// Cluster nodes and partition owners.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    pub fn topic(&self, name: &TopicName) -> Option<&Topic> {
        self.topics.get(name)
    }

    /// Up to `limit` topics in name order, starting after `after`.
    pub fn topics_after(&self, after: Option<&TopicName>, limit: usize) -> Vec<&Topic> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.topics
            .range((start, Bound::Unbounded))
            .take(limit)
            .map(|(_, t)| t)
            .collect()
    }

    pub fn subscription(&self, name: &SubscriptionName) -> Option<&Subscription> {
        self.subscriptions.get(name)
    }

    /// Up to `limit` subscriptions in name order, starting after `after`.
    pub fn subscriptions_after(
        &self,
        after: Option<&SubscriptionName>,
        limit: usize,
    ) -> Vec<&Subscription> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.subscriptions
            .range((start, Bound::Unbounded))
            .take(limit)
            .map(|(_, s)| s)
            .collect()
    }

    /// The consumer group of a partitioned subscription; `None` before its first join.
    pub fn group(&self, subscription: &SubscriptionName) -> Option<&ConsumerGroup> {
        self.groups.get(subscription)
    }

    /// Every consumer group, by subscription name.
    pub fn groups(&self) -> impl Iterator<Item = (&SubscriptionName, &ConsumerGroup)> {
        self.groups.iter()
    }

    /// The subscriptions attached to `topic`, in name order.
    pub fn subscriptions_of<'a>(
        &'a self,
        topic: &'a TopicName,
    ) -> impl Iterator<Item = &'a Subscription> + 'a {
        self.subscriptions
            .values()
            .filter(move |s| &s.config.topic == topic)
    }
}

#[cfg(test)]
mod tests;

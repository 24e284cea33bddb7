//! [`Touched`]: what one applied command changed, by name, so a follower of
//! the metadata (a node's storage) looks again at those things only instead
//! of at everything.

use crate::{Reply, SubscriptionName, TopicName};

/// The names an applied command changed. Derived from its [`Reply`], which
/// names everything it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Topics created or deleted: the topic itself and every one of its
    /// partitions' owners.
    pub topics: Vec<TopicName>,
    /// Subscriptions created or deleted.
    pub subscriptions: Vec<SubscriptionName>,
    /// Partitions whose owner changed.
    pub partitions: Vec<(TopicName, u32)>,
}

impl Touched {
    /// What the command that answered `reply` changed. Group commands change
    /// nothing storage follows.
    pub fn of(reply: &Reply) -> Self {
        match reply {
            Reply::TopicCreated(topic) => Self {
                topics: vec![topic.name.clone()],
                ..Self::default()
            },
            Reply::TopicDeleted {
                topic,
                subscriptions,
            } => Self {
                topics: vec![topic.name.clone()],
                subscriptions: subscriptions.clone(),
                ..Self::default()
            },
            Reply::SubscriptionCreated(subscription) | Reply::SubscriptionDeleted(subscription) => {
                Self {
                    subscriptions: vec![subscription.name.clone()],
                    ..Self::default()
                }
            }
            Reply::PartitionsMoved(moves) => Self {
                partitions: moves
                    .iter()
                    .map(|m| (m.topic.clone(), m.partition))
                    .collect(),
                ..Self::default()
            },
            Reply::GroupJoined(_)
            | Reply::HeartbeatAccepted(_)
            | Reply::GroupLeft { .. }
            | Reply::MembersExpired { .. } => Self::default(),
        }
    }

    /// Whether nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && self.subscriptions.is_empty() && self.partitions.is_empty()
    }

    /// How many names it holds: the size of the change.
    pub fn len(&self) -> usize {
        self.topics.len() + self.subscriptions.len() + self.partitions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, Metadata, NodeId, TopicConfig};

    fn topic(name: &str) -> TopicName {
        TopicName::new(name).expect("valid name")
    }

    #[test]
    fn a_rebalance_names_the_partitions_it_moved_and_nothing_else() {
        let mut md = Metadata::default();
        md.apply(Command::RegisterNode {
            id: NodeId::new(1),
            peer_addr: "a:1".to_owned(),
        })
        .expect("register");
        let config = TopicConfig {
            partitions: 8,
            ..TopicConfig::default()
        };
        let created = md
            .apply(Command::CreateTopic {
                name: topic("orders"),
                config,
                at_millis: 1,
            })
            .expect("create");
        assert_eq!(Touched::of(&created).topics, vec![topic("orders")]);
        md.apply(Command::RegisterNode {
            id: NodeId::new(2),
            peer_addr: "b:1".to_owned(),
        })
        .expect("register");
        let moved = md.apply(Command::Rebalance).expect("rebalance");
        let Reply::PartitionsMoved(moves) = &moved else {
            panic!("got {moved:?}")
        };
        let touched = Touched::of(&moved);
        assert!(!moves.is_empty());
        assert_eq!(touched.len(), moves.len());
        assert!(touched.topics.is_empty() && touched.subscriptions.is_empty());
    }
}

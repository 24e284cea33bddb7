//! The metadata state and its deterministic transition function.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::{Command, MetadataError, Reply, Subscription, SubscriptionName, Topic, TopicName};

/// Topics and subscriptions, as agreed by the cluster.
///
/// Invariant: every subscription's topic exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    topics: BTreeMap<TopicName, Topic>,
    subscriptions: BTreeMap<SubscriptionName, Subscription>,
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
                self.topics.insert(name, topic.clone());
                Ok(Reply::TopicCreated(topic))
            }
            Command::DeleteTopic { name } => {
                let topic = self
                    .topics
                    .remove(&name)
                    .ok_or_else(|| MetadataError::TopicNotFound { name: name.into() })?;
                let subscriptions: Vec<SubscriptionName> = self
                    .subscriptions_of(&topic.name)
                    .map(|s| s.name.clone())
                    .collect();
                for sub in &subscriptions {
                    self.subscriptions.remove(sub);
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
            Command::DeleteSubscription { name } => self
                .subscriptions
                .remove(&name)
                .map(Reply::SubscriptionDeleted)
                .ok_or_else(|| MetadataError::SubscriptionNotFound { name: name.into() }),
        }
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
mod tests {
    use super::*;
    use crate::{SubscriptionConfig, TopicConfig};
    use proptest::prelude::*;

    fn topic(name: &str) -> TopicName {
        TopicName::new(name).expect("valid name")
    }
    fn sub(name: &str) -> SubscriptionName {
        SubscriptionName::new(name).expect("valid name")
    }
    fn create_topic(name: &str) -> Command {
        Command::CreateTopic {
            name: topic(name),
            config: TopicConfig::default(),
            at_millis: 1,
        }
    }
    fn create_sub(name: &str, on: &str) -> Command {
        Command::CreateSubscription {
            name: sub(name),
            config: SubscriptionConfig::new(topic(on)),
            at_millis: 2,
        }
    }

    #[test]
    fn create_twice_is_already_exists_and_changes_nothing() {
        let mut md = Metadata::default();
        md.apply(create_topic("orders")).expect("first create");
        let before = md.clone();
        let err = md.apply(create_topic("orders")).expect_err("second create");
        assert_eq!(
            err,
            MetadataError::TopicAlreadyExists {
                name: "orders".into()
            }
        );
        assert_eq!(md, before);
    }

    #[test]
    fn subscription_needs_its_topic() {
        let mut md = Metadata::default();
        let err = md
            .apply(create_sub("s-1", "missing"))
            .expect_err("no topic");
        assert_eq!(
            err,
            MetadataError::TopicNotFound {
                name: "missing".into()
            }
        );
    }

    #[test]
    fn deleting_a_topic_removes_its_subscriptions_only() {
        let mut md = Metadata::default();
        md.apply(create_topic("orders")).expect("topic");
        md.apply(create_topic("audit")).expect("topic");
        md.apply(create_sub("billing", "orders")).expect("sub");
        md.apply(create_sub("archive", "audit")).expect("sub");
        let reply = md
            .apply(Command::DeleteTopic {
                name: topic("orders"),
            })
            .expect("delete");
        let Reply::TopicDeleted { subscriptions, .. } = reply else {
            panic!("unexpected reply {reply:?}");
        };
        assert_eq!(subscriptions, vec![sub("billing")]);
        assert!(md.subscription(&sub("billing")).is_none());
        assert!(md.subscription(&sub("archive")).is_some());
    }

    #[test]
    fn paging_walks_every_topic_once() {
        let mut md = Metadata::default();
        for i in 0..7 {
            md.apply(create_topic(&format!("topic-{i}")))
                .expect("create");
        }
        let mut seen = Vec::new();
        let mut after: Option<TopicName> = None;
        loop {
            let page = md.topics_after(after.as_ref(), 3);
            if page.is_empty() {
                break;
            }
            seen.extend(page.iter().map(|t| t.name.to_string()));
            after = page.last().map(|t| t.name.clone());
        }
        let expected: Vec<String> = (0..7).map(|i| format!("topic-{i}")).collect();
        assert_eq!(seen, expected);
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        let names = prop::sample::select(vec!["aaa", "bbb", "ccc"]);
        prop_oneof![
            names.clone().prop_map(create_topic),
            names
                .clone()
                .prop_map(|n| Command::DeleteTopic { name: topic(n) }),
            (names.clone(), names.clone()).prop_map(|(s, t)| create_sub(s, t)),
            names.prop_map(|n| Command::DeleteSubscription { name: sub(n) }),
        ]
    }

    proptest! {
        /// Any command sequence keeps the invariant, and replaying it gives the same state.
        #[test]
        fn apply_is_deterministic_and_keeps_invariants(commands in prop::collection::vec(arb_command(), 0..40)) {
            let mut a = Metadata::default();
            let mut b = Metadata::default();
            for command in commands {
                let before = a.clone();
                let ra = a.apply(command.clone());
                let rb = b.apply(command);
                prop_assert_eq!(&ra, &rb);
                if ra.is_err() {
                    prop_assert_eq!(&a, &before);
                }
                for s in a.subscriptions.values() {
                    prop_assert!(a.topics.contains_key(&s.config.topic));
                }
            }
            prop_assert_eq!(a, b);
        }
    }
}

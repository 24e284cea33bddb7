//! Commands change metadata; replies say what changed.
//!
//! New variants are only ever appended: commands are stored in logs that outlive
//! a release, and positional encodings depend on variant order.

use serde::{Deserialize, Serialize};

use crate::{Subscription, SubscriptionConfig, SubscriptionName, Topic, TopicConfig, TopicName};

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
}

//! The topic and subscription a bench runs on: made with unique names and removed
//! afterwards, unless the user named existing ones.

use std::time::{SystemTime, UNIX_EPOCH};

use api::types::{AckLevel, CreateSubscriptionRequest, CreateTopicRequest};

use crate::args::BenchArgs;

/// Ack deadline of the bench's own subscription: long enough that a consumer falling
/// behind under load is measured as slow, not as a storm of redeliveries.
const ACK_DEADLINE_SECONDS: u32 = 60;

/// Where the bench publishes and consumes, and what it must delete at the end.
#[derive(Debug)]
pub struct Target {
    pub topic: String,
    pub subscription: String,
    /// The topic's ack level, which tells its storage: `memory` only on memory storage.
    pub ack_level: AckLevel,
    created_topic: bool,
    created_subscription: bool,
}

impl Target {
    /// Creates what the user did not name. A subscription created on the user's topic
    /// starts at the end of it, so earlier messages are not counted.
    pub async fn prepare(client: &api::Client, args: &BenchArgs) -> anyhow::Result<Self> {
        let suffix = unique_suffix();
        let (topic, ack_level, created_topic) = match &args.topic {
            Some(topic) => {
                let level = client.get_topic(topic).await?.ack_level;
                (topic.clone(), level, false)
            }
            None => {
                let topic = format!("bench-{suffix}");
                let request = CreateTopicRequest {
                    partitions: Some(args.partitions),
                    // Only past the server's default of 1 MiB.
                    max_message_bytes: (args.size > 1 << 20)
                        .then(|| u32::try_from(args.size).ok())
                        .flatten(),
                    ..CreateTopicRequest::default()
                };
                let level = client.create_topic(&topic, &request).await?.ack_level;
                (topic, level, true)
            }
        };
        let mut target = Self {
            topic,
            subscription: String::new(),
            ack_level,
            created_topic,
            created_subscription: false,
        };
        match &args.subscription {
            Some(subscription) => target.subscription = subscription.clone(),
            None => {
                let subscription = format!("bench-{suffix}-sub");
                let request = CreateSubscriptionRequest {
                    topic: target.topic.clone(),
                    ack_deadline_seconds: Some(ACK_DEADLINE_SECONDS),
                    ..CreateSubscriptionRequest::default()
                };
                if let Err(error) = client.create_subscription(&subscription, &request).await {
                    target.remove(client).await?;
                    return Err(error.into());
                }
                target.subscription = subscription;
                target.created_subscription = true;
            }
        }
        Ok(target)
    }

    /// Deletes what [`Target::prepare`] created; a deleted topic takes its
    /// subscriptions with it.
    pub async fn remove(&self, client: &api::Client) -> anyhow::Result<()> {
        if self.created_topic {
            client.delete_topic(&self.topic).await?;
        } else if self.created_subscription {
            client.delete_subscription(&self.subscription).await?;
        }
        Ok(())
    }

    /// Setup details for the report: the names, and the storage as the topic's ack
    /// level shows it (Redis storage acknowledges at `leader` or better).
    pub fn describe(&self) -> [(String, String); 3] {
        let storage = match self.ack_level {
            AckLevel::Memory => "memory".to_owned(),
            level => format!("redis (ack level {level})"),
        };
        [
            ("topic".to_owned(), self.topic.clone()),
            ("subscription".to_owned(), self.subscription.clone()),
            ("storage".to_owned(), storage),
        ]
    }
}

/// Process id and wall-clock nanoseconds: unique across concurrent and repeated runs.
fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos:x}", std::process::id())
}

//! [`Catalog`]: the topics and subscriptions themselves. Create, get (with
//! stats), delete and list them; changes go through the metadata's `propose`,
//! storage is prepared first and cleaned up after.
//!
//! A delete is done once the metadata committed it: its answer is success
//! even when removing the storage fails after (that removal is retried in
//! the background, [`leftovers`]), so an error answer to a delete always means
//! it did not happen, or `504 OUTCOME_UNKNOWN` when the commit's outcome is
//! unknown (see the error table in `docs/api.md`).
//!
//! - this file: create, get and delete.
//! - `listing`: paged lists.
//! - [`leftovers`]: storage of deleted resources, removed after the commit.
//! - [`stats`]: a subscription's backlog, summed over its partitions.

pub mod leftovers;
mod listing;
pub mod stats;

use std::sync::Arc;

use api::types::{
    CreateSubscriptionRequest, CreateTopicRequest, PartitionStats, Subscription as ApiSubscription,
    SubscriptionBacklog, Topic as ApiTopic, TopicStats,
};
use cluster::{Command, Reply, Subscription, SubscriptionName, SubscriptionType, TopicName};

use self::leftovers::Leftovers;
use self::stats::subscription_stats;
use crate::broker::convert;
use crate::broker::error::BrokerError;
use crate::broker::metadata_view::{MetadataView, partition_refs};
use crate::broker::wakers::TopicWakers;
use crate::clock::Clock;
use crate::storage::Storage;
use crate::telemetry::Metrics;

/// Creates, shows and deletes topics and subscriptions. Holds no state of its
/// own: the metadata says what exists, storage holds their partitions.
#[derive(Debug)]
pub struct Catalog {
    metadata: MetadataView,
    storage: Arc<dyn Storage>,
    clock: Clock,
    metrics: Arc<Metrics>,
    wakers: Arc<TopicWakers>,
    leftovers: Arc<Leftovers>,
}

impl Catalog {
    pub fn new(
        metadata: MetadataView,
        storage: Arc<dyn Storage>,
        clock: Clock,
        metrics: Arc<Metrics>,
        wakers: Arc<TopicWakers>,
    ) -> Self {
        let leftovers = Arc::new(Leftovers::new(metadata.clone(), storage.clone()));
        Self {
            metadata,
            storage,
            clock,
            metrics,
            wakers,
            leftovers,
        }
    }

    /// The storage of deleted resources still to be removed, which upkeep retries.
    pub fn leftovers(&self) -> &Arc<Leftovers> {
        &self.leftovers
    }

    /// How durable a publish is when its topic does not choose: it tells
    /// which ack levels topics may ask for (the OpenAPI document says which).
    pub fn default_ack_level(&self) -> api::types::AckLevel {
        self.storage.ack_level()
    }

    pub async fn create_topic(
        &self,
        name: &str,
        request: CreateTopicRequest,
    ) -> Result<ApiTopic, BrokerError> {
        let name = TopicName::new(name)?;
        let default_level = self.storage.ack_level();
        #[cfg(feature = "test-breaks")]
        if crate::test_breaks::active("create-exists-ok")
            && let Ok(topic) = self.metadata.topic(&name)
        {
            return Ok(convert::topic(&topic, default_level, None));
        }
        let config = convert::topic_config(request, default_level);
        config.validate()?;
        let options = convert::append_options(&config, default_level);
        self.storage
            .check_options(&name, config.partitions, &options)
            .await?;
        self.leftovers.before_topic_create(&name).await?;
        // Storage first (idempotent), so a committed topic always has its partitions.
        self.storage.create_topic(&name, config.partitions).await?;
        let command = Command::CreateTopic {
            name,
            config,
            at_millis: self.clock.now_millis(),
        };
        match self.metadata.store().propose(command).await? {
            Reply::TopicCreated(topic) => Ok(convert::topic(&topic, default_level, None)),
            other => unreachable!("CreateTopic replied {other:?}"),
        }
    }

    pub async fn get_topic(&self, name: &str) -> Result<ApiTopic, BrokerError> {
        let topic = self.metadata.find_topic(name).await?;
        let mut partitions = Vec::new();
        let (mut messages, mut bytes) = (0, 0);
        for at in partition_refs(&topic) {
            let offsets = self.storage.offsets(&at).await?;
            messages += offsets.end;
            bytes += offsets.bytes_appended;
            partitions.push(PartitionStats {
                partition: at.partition,
                start_offset: offsets.start,
                end_offset: offsets.end,
            });
        }
        let subscriptions: Vec<Subscription> = self
            .metadata
            .store()
            .read(|md| md.subscriptions_of(&topic.name).cloned().collect());
        let mut backlogs = Vec::new();
        for sub in &subscriptions {
            let stats =
                subscription_stats(self.storage.as_ref(), sub, &topic, self.clock.now_millis())
                    .await?;
            backlogs.push(SubscriptionBacklog {
                name: sub.name.to_string(),
                backlog_messages: stats.backlog_messages,
            });
        }
        let stats = TopicStats {
            messages_published: messages,
            bytes_published: bytes,
            partitions,
            subscriptions: backlogs,
        };
        Ok(convert::topic(
            &topic,
            self.storage.ack_level(),
            Some(stats),
        ))
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        let name = TopicName::new(name)?;
        let reply = self
            .metadata
            .store()
            .propose(Command::DeleteTopic { name: name.clone() })
            .await?;
        // Committed: the topic is gone whatever its storage removal does.
        if let Reply::TopicDeleted { topic, .. } = reply {
            self.leftovers
                .topic_deleted(name.clone(), topic.config.partitions)
                .await;
        }
        self.wakers.forget(&name);
        Ok(())
    }

    pub async fn create_subscription(
        &self,
        name: &str,
        request: CreateSubscriptionRequest,
    ) -> Result<ApiSubscription, BrokerError> {
        let name = SubscriptionName::new(name)?;
        let config = convert::subscription_config(request)?;
        config.validate()?;
        let topic = self
            .metadata
            .fresh(|| self.metadata.topic(&config.topic))
            .await?;
        self.leftovers.before_subscription_create(&name).await?;
        // Storage first (idempotent: an existing subscription's state is kept).
        self.storage
            .create_subscription(
                &name,
                &topic.name,
                topic.config.partitions,
                config.start_position,
            )
            .await?;
        let command = Command::CreateSubscription {
            name,
            config,
            at_millis: self.clock.now_millis(),
        };
        match self.metadata.store().propose(command).await? {
            Reply::SubscriptionCreated(sub) => Ok(convert::subscription(&sub, None)),
            other => unreachable!("CreateSubscription replied {other:?}"),
        }
    }

    pub async fn get_subscription(&self, name: &str) -> Result<ApiSubscription, BrokerError> {
        let name = SubscriptionName::new(name)?;
        let sub = self
            .metadata
            .fresh(|| self.metadata.subscription(&name))
            .await?;
        let topic = self.metadata.topic(&sub.config.topic)?;
        let stats =
            subscription_stats(self.storage.as_ref(), &sub, &topic, self.clock.now_millis())
                .await?;
        let mut subscription = convert::subscription(&sub, Some(stats));
        if sub.config.kind == SubscriptionType::Partitioned {
            subscription.group = Some(
                self.metadata
                    .store()
                    .read(|md| convert::group(md.group(&sub.name))),
            );
        }
        Ok(subscription)
    }

    pub async fn delete_subscription(&self, name: &str) -> Result<(), BrokerError> {
        let name = SubscriptionName::new(name)?;
        let reply = self
            .metadata
            .store()
            .propose(Command::DeleteSubscription { name: name.clone() })
            .await?;
        // Committed: as for a topic, the subscription is gone whatever follows.
        if let Reply::SubscriptionDeleted(sub) = reply {
            self.metrics.forget_subscription(name.as_str());
            // A deleted topic took its subscriptions' storage with it.
            if let Ok(topic) = self.metadata.topic(&sub.config.topic) {
                self.leftovers
                    .subscription_deleted(name.clone(), topic.name, topic.config.partitions)
                    .await;
            }
            self.wakers.wake(&sub.config.topic);
        }
        Ok(())
    }
}

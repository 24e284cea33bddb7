//! The broker's operations, independent of HTTP: topics, subscriptions,
//! publish, pull and ack.
//!
//! - `publish`: validation, deduplication, partition choice, append.
//! - [`delivery`]: leasing, long polling, ack, nack and deadline changes.
//! - [`dead_letters`]: dead-letter publishing with lineage, listing, redrive,
//!   parked ordering keys.
//! - `seek`: moving a subscription to a time or an end.
//! - `listing`: paged lists of topics and subscriptions.
//! - `cluster_ops`: rebalancing partition owners and removing a node.
//! - `push`: what the push dispatchers (`crate::push`) need from the broker.
//! - [`groups`]: consumer groups of partitioned subscriptions (join, heartbeat,
//!   leave, expiry) and the partitions each member may lease from.
//! - [`ack_id`], [`dedup`], `convert`, [`error`]: their supporting types.

pub mod ack_id;
mod cluster_ops;
mod convert;
pub mod dead_letters;
pub mod dedup;
pub mod delivery;
pub mod error;
pub mod groups;
mod lease;
mod listing;
mod pipeline;
mod publish;
mod push;
mod seek;

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::types::{
    CreateSubscriptionRequest, CreateTopicRequest, PartitionBacklog, PartitionStats,
    Subscription as ApiSubscription, SubscriptionBacklog, SubscriptionStats, Topic as ApiTopic,
    TopicStats,
};
use cluster::{Command, Reply, Subscription, SubscriptionName, Topic, TopicName};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use self::dedup::IdempotencyCache;
pub use self::error::BrokerError;
use self::groups::MemberIds;
pub use self::pipeline::PipelinedAnswer;
use crate::clock::Clock;
use crate::metadata_store::MetadataStore;
use crate::storage::{Epoch, PartitionRef, Storage};
use crate::telemetry::Metrics;

/// The owner epoch of a partition that has no owner in the metadata (local
/// metadata, or before any node registered). Routed storage writes with the
/// owner's epoch from the metadata instead of the one the broker passes.
pub const SINGLE_NODE_EPOCH: Epoch = 1;

/// How often retention and the idempotency cache are swept.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(5);

/// One broker: metadata, storage, and the wake-ups between publishers and consumers.
#[derive(Debug)]
pub struct Broker {
    metadata: MetadataStore,
    storage: Arc<dyn Storage>,
    clock: Clock,
    metrics: Arc<Metrics>,
    idempotency: IdempotencyCache,
    /// Spreads messages without an ordering key: each request's unkeyed messages
    /// go together to the next partition in turn (sticky per batch, like Kafka's
    /// default partitioner), so a batch costs one append.
    round_robin: AtomicU32,
    /// Woken when a topic may have new deliverable messages.
    wakers: Mutex<HashMap<TopicName, Arc<Notify>>>,
    /// Ids for members joining consumer groups through this node.
    member_ids: MemberIds,
    shutdown: CancellationToken,
}

impl Broker {
    pub fn new(
        metadata: MetadataStore,
        storage: Arc<dyn Storage>,
        metrics: Arc<Metrics>,
        clock: Clock,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            metadata,
            storage,
            clock,
            metrics,
            idempotency: IdempotencyCache::default(),
            round_robin: AtomicU32::new(0),
            wakers: Mutex::default(),
            member_ids: MemberIds::new(),
            shutdown,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn metadata(&self) -> &MetadataStore {
        &self.metadata
    }

    /// How durable a publish is when its topic does not choose: it tells
    /// which ack levels topics may ask for (the OpenAPI document says which).
    pub fn storage_ack_level(&self) -> api::types::AckLevel {
        self.storage.ack_level()
    }

    /// Why this broker cannot serve now, if it cannot: shutting down, no
    /// metadata leader, or storage not answering. For `/readyz`.
    pub async fn unready_reason(&self) -> Option<String> {
        if self.shutdown.is_cancelled() {
            return Some("the broker is shutting down".to_owned());
        }
        if let Some(reason) = self.metadata.unready_reason() {
            return Some(reason);
        }
        self.storage.ping().await.err().map(|e| e.to_string())
    }

    /// Every topic and subscription, copied out of the metadata in one read.
    fn resources(&self) -> (Vec<Topic>, Vec<Subscription>) {
        self.metadata.read(|md| {
            (
                md.topics_after(None, usize::MAX)
                    .into_iter()
                    .cloned()
                    .collect(),
                md.subscriptions_after(None, usize::MAX)
                    .into_iter()
                    .cloned()
                    .collect(),
            )
        })
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    pub async fn create_topic(
        &self,
        name: &str,
        request: CreateTopicRequest,
    ) -> Result<ApiTopic, BrokerError> {
        let name = TopicName::new(name)?;
        let default_level = self.storage.ack_level();
        let config = convert::topic_config(request, default_level);
        config.validate()?;
        let options = convert::append_options(&config, default_level);
        self.storage
            .check_options(&name, config.partitions, &options)
            .await?;
        // Storage first (idempotent), so a committed topic always has its partitions.
        self.storage.create_topic(&name, config.partitions).await?;
        let command = Command::CreateTopic {
            name,
            config,
            at_millis: self.clock.now_millis(),
        };
        match self.metadata.propose(command).await? {
            Reply::TopicCreated(topic) => Ok(convert::topic(&topic, default_level, None)),
            other => unreachable!("CreateTopic replied {other:?}"),
        }
    }

    /// The topic named, asking the leader before answering not found.
    pub async fn find_topic(&self, name: &str) -> Result<Topic, BrokerError> {
        let name = TopicName::new(name)?;
        self.fresh(|| self.topic(&name)).await
    }

    pub async fn get_topic(&self, name: &str) -> Result<ApiTopic, BrokerError> {
        let topic = self.find_topic(name).await?;
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
            .read(|md| md.subscriptions_of(&topic.name).cloned().collect());
        let mut backlogs = Vec::new();
        for sub in &subscriptions {
            let stats = self.subscription_stats(sub, &topic).await?;
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
            .propose(Command::DeleteTopic { name: name.clone() })
            .await?;
        if let Reply::TopicDeleted { topic, .. } = reply {
            self.storage
                .delete_topic(&name, topic.config.partitions)
                .await?;
        }
        if let Some(waker) = self.lock_wakers().remove(&name) {
            waker.notify_waiters();
        }
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
        let topic = self.fresh(|| self.topic(&config.topic)).await?;
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
        match self.metadata.propose(command).await? {
            Reply::SubscriptionCreated(sub) => Ok(convert::subscription(&sub, None)),
            other => unreachable!("CreateSubscription replied {other:?}"),
        }
    }

    pub async fn get_subscription(&self, name: &str) -> Result<ApiSubscription, BrokerError> {
        let name = SubscriptionName::new(name)?;
        let sub = self.fresh(|| self.subscription(&name)).await?;
        let topic = self.topic(&sub.config.topic)?;
        let stats = self.subscription_stats(&sub, &topic).await?;
        let mut subscription = convert::subscription(&sub, Some(stats));
        subscription.group = self.group_view(&sub);
        Ok(subscription)
    }

    pub async fn delete_subscription(&self, name: &str) -> Result<(), BrokerError> {
        let name = SubscriptionName::new(name)?;
        let reply = self
            .metadata
            .propose(Command::DeleteSubscription { name: name.clone() })
            .await?;
        if let Reply::SubscriptionDeleted(sub) = reply {
            self.metrics.forget_subscription(name.as_str());
            // A deleted topic took its subscriptions' storage with it.
            if let Ok(topic) = self.topic(&sub.config.topic) {
                self.storage
                    .delete_subscription(&name, &topic.name, topic.config.partitions)
                    .await?;
            }
            self.wake(&sub.config.topic);
        }
        Ok(())
    }

    /// Periodic upkeep: applies retention, dead-letters messages whose last
    /// lease expired even if nobody pulls, refreshes the lag gauges, and forgets
    /// expired idempotency keys. In a cluster each node trims what it owns and
    /// the metadata leader does the rest (its lag gauges cover the cluster).
    pub async fn maintain(&self) {
        let now = self.clock.now_millis();
        let (topics, subscriptions) = self.resources();
        for topic in &topics {
            // Each node trims the partitions it owns.
            for at in partition_refs(topic).filter(|at| self.metadata.owns(at)) {
                match self.storage.trim(&at, &topic.config.retention, now).await {
                    Ok(0) => {}
                    Ok(dropped) => {
                        tracing::debug!(topic = %at.topic, partition = at.partition, dropped, "retention trimmed messages")
                    }
                    Err(error) => {
                        tracing::warn!(topic = %at.topic, partition = at.partition, %error, "retention trim failed")
                    }
                }
            }
        }
        // One node (the metadata leader) ends expired leases and exports the
        // lag gauges for every partition; the calls reach the owners.
        let subscriptions = if self.metadata.leads() {
            subscriptions
        } else {
            Vec::new()
        };
        for sub in &subscriptions {
            if let Err(error) = self.refresh_subscription(sub).await {
                tracing::warn!(subscription = %sub.name, %error, "subscription upkeep failed");
            }
        }
        self.idempotency
            .sweep(now, |t| self.metadata.read(|md| md.topic(t).is_some()));
    }

    async fn refresh_subscription(&self, sub: &Subscription) -> Result<(), BrokerError> {
        let target = self.delivery_target(sub.name.as_str()).await?;
        self.lease_batch(&target, 0).await?;
        let stats = self.subscription_stats(sub, &target.topic).await?;
        self.metrics.record_lag(
            sub.name.as_str(),
            stats.backlog_messages,
            stats.oldest_unacked_age_seconds.unwrap_or(0.0),
        );
        Ok(())
    }

    /// Whether other nodes own partitions (or may): more than one node is registered.
    fn multi_node(&self) -> bool {
        self.metadata
            .read(|md| md.placement().nodes().nth(1).is_some())
    }

    /// Runs a metadata lookup; when it finds nothing, waits until this node
    /// has applied everything committed (a Raft read index) and looks once
    /// more, so a resource just created through another node is found.
    async fn fresh<T>(
        &self,
        lookup: impl Fn() -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        match lookup() {
            Err(e) if e.is_not_found() => {
                self.metadata.barrier().await?;
                lookup()
            }
            found => found,
        }
    }

    fn topic(&self, name: &TopicName) -> Result<Topic, BrokerError> {
        self.metadata
            .read(|md| md.topic(name).cloned())
            .ok_or_else(|| {
                cluster::MetadataError::TopicNotFound {
                    name: name.to_string(),
                }
                .into()
            })
    }

    fn subscription(&self, name: &SubscriptionName) -> Result<Subscription, BrokerError> {
        self.metadata
            .read(|md| md.subscription(name).cloned())
            .ok_or_else(|| {
                cluster::MetadataError::SubscriptionNotFound {
                    name: name.to_string(),
                }
                .into()
            })
    }

    async fn subscription_stats(
        &self,
        sub: &Subscription,
        topic: &Topic,
    ) -> Result<SubscriptionStats, BrokerError> {
        let now = self.clock.now_millis();
        let age = |publish: Option<u64>| publish.map(|t| now.saturating_sub(t) as f64 / 1000.0);
        let mut stats = SubscriptionStats {
            backlog_messages: 0,
            outstanding_messages: 0,
            oldest_unacked_age_seconds: None,
            expired_messages: 0,
            dead_lettered_messages: 0,
            parked_ordering_keys: Vec::new(),
            partitions: Vec::new(),
        };
        let mut oldest: Option<u64> = None;
        for at in partition_refs(topic) {
            let backlog = self.storage.backlog(&sub.name, &at, now).await?;
            stats.backlog_messages += backlog.unacked;
            stats.outstanding_messages += backlog.outstanding;
            stats.expired_messages += backlog.expired;
            stats.dead_lettered_messages += backlog.dead_lettered;
            stats
                .parked_ordering_keys
                .extend(self.storage.parked_keys(&sub.name, &at).await?);
            if let Some(t) = backlog.oldest_unacked_publish_millis {
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
            }
            stats.partitions.push(PartitionBacklog {
                partition: at.partition,
                backlog_messages: backlog.unacked,
                outstanding_messages: backlog.outstanding,
                oldest_unacked_age_seconds: age(backlog.oldest_unacked_publish_millis),
            });
        }
        stats.oldest_unacked_age_seconds = age(oldest);
        Ok(stats)
    }

    fn lock_wakers(&self) -> std::sync::MutexGuard<'_, HashMap<TopicName, Arc<Notify>>> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn waker(&self, topic: &TopicName) -> Arc<Notify> {
        self.lock_wakers().entry(topic.clone()).or_default().clone()
    }

    fn wake(&self, topic: &TopicName) {
        if let Some(waker) = self.lock_wakers().get(topic) {
            waker.notify_waiters();
        }
    }
}

fn partition_refs(topic: &Topic) -> impl Iterator<Item = PartitionRef> + '_ {
    (0..topic.config.partitions).map(|partition| PartitionRef {
        topic: topic.name.clone(),
        partition,
    })
}

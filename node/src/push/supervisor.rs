//! Keeps one [`Dispatcher`] running per push subscription in the metadata.

use std::collections::HashMap;
use std::sync::Arc;

use cluster::{Subscription, SubscriptionName};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::dispatcher::Dispatcher;
use super::sender::Sender;
use crate::broker::delivery::Delivery;
use crate::broker::metadata_view::MetadataView;
use crate::overload::budget::MemoryBudget;
use crate::telemetry::Metrics;

/// Reconciles running dispatchers with the metadata after every change.
#[derive(Debug)]
pub struct Supervisor {
    delivery: Arc<Delivery>,
    metadata: MetadataView,
    metrics: Arc<Metrics>,
    memory: Arc<MemoryBudget>,
    shutdown: CancellationToken,
    sender: Sender,
    running: HashMap<SubscriptionName, Running>,
}

/// A dispatcher task and what it was started for.
#[derive(Debug)]
struct Running {
    /// Compared with the metadata: a subscription deleted and created again
    /// under the same name differs (creation time, config) and gets a new dispatcher.
    subscription: Subscription,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// A supervisor of the push subscriptions in `metadata`, delivering
    /// through `delivery` until `shutdown`, counting messages in flight in `memory`.
    pub fn new(
        delivery: Arc<Delivery>,
        metadata: MetadataView,
        metrics: Arc<Metrics>,
        memory: Arc<MemoryBudget>,
        shutdown: CancellationToken,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            delivery,
            metadata,
            metrics,
            memory,
            shutdown,
            sender: Sender::new()?,
            running: HashMap::new(),
        })
    }

    /// Runs until the broker shuts down, then stops every dispatcher and waits for them.
    pub async fn run(mut self) {
        let shutdown = self.shutdown.clone();
        let mut changes = self.metadata.store().changes();
        loop {
            // Seen before reading, so a change during the pass triggers another one.
            changes.borrow_and_update();
            self.reconcile().await;
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                () = shutdown.cancelled() => break,
            }
        }
        let all: Vec<SubscriptionName> = self.running.keys().cloned().collect();
        self.stop(all).await;
    }

    /// Stops dispatchers of deleted, changed or ended subscriptions, then
    /// starts one for every push subscription without one.
    async fn reconcile(&mut self) {
        let mut wanted: HashMap<SubscriptionName, Subscription> = self
            .metadata
            .push_subscriptions()
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        let stale: Vec<SubscriptionName> = self
            .running
            .iter()
            .filter(|(name, running)| {
                running.task.is_finished() || wanted.get(*name) != Some(&running.subscription)
            })
            .map(|(name, _)| name.clone())
            .collect();
        // Stopped before any successor starts, so a re-created subscription
        // never has two dispatchers (and twice maxOutstanding) at once.
        self.stop(stale).await;
        wanted.retain(|name, _| !self.running.contains_key(name));
        for (name, subscription) in wanted {
            let cancel = self.shutdown.child_token();
            let Some(dispatcher) = Dispatcher::new(
                self.delivery.clone(),
                self.metrics.clone(),
                self.memory.clone(),
                self.sender.clone(),
                subscription.clone(),
                cancel.clone(),
            ) else {
                continue;
            };
            let task = tokio::spawn(dispatcher.run());
            self.running.insert(
                name,
                Running {
                    subscription,
                    cancel,
                    task,
                },
            );
        }
    }

    /// Cancels the named dispatchers, then waits until each has ended.
    async fn stop(&mut self, names: Vec<SubscriptionName>) {
        let stopping: Vec<Running> = names
            .iter()
            .filter_map(|name| self.running.remove(name))
            .collect();
        for running in &stopping {
            running.cancel.cancel();
        }
        for running in stopping {
            if let Err(error) = running.task.await {
                tracing::warn!(subscription = %running.subscription.name, %error, "push dispatcher failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use api::types::{CreateSubscriptionRequest, CreateTopicRequest, PushConfig};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::broker::Broker;
    use crate::server::memory_broker;

    async fn create(broker: &Broker, endpoint: &str) {
        let request = CreateSubscriptionRequest {
            topic: "events".into(),
            push_config: Some(PushConfig {
                endpoint: endpoint.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        broker
            .catalog
            .create_subscription("hooks", request)
            .await
            .expect("subscription");
    }

    fn endpoint_of(supervisor: &Supervisor) -> Option<String> {
        let name = SubscriptionName::new("hooks").expect("name");
        let running = supervisor.running.get(&name)?;
        Some(running.subscription.config.push.as_ref()?.endpoint.clone())
    }

    /// Changes can coalesce between two passes (the watch keeps only the
    /// latest version): a delete and a re-create under the same name must still
    /// replace the dispatcher.
    #[tokio::test]
    async fn a_pass_replaces_the_dispatcher_of_a_recreated_subscription() {
        let broker = memory_broker(CancellationToken::new());
        broker
            .catalog
            .create_topic("events", CreateTopicRequest::default())
            .await
            .expect("topic");
        let mut supervisor = Supervisor::new(
            broker.delivery.clone(),
            broker.metadata.clone(),
            broker.metrics.clone(),
            broker.overload.memory.clone(),
            broker.shutdown.clone(),
        )
        .expect("client");
        create(&broker, "http://127.0.0.1:9/old").await;
        supervisor.reconcile().await;
        assert_eq!(
            endpoint_of(&supervisor).as_deref(),
            Some("http://127.0.0.1:9/old")
        );

        broker
            .catalog
            .delete_subscription("hooks")
            .await
            .expect("delete");
        create(&broker, "http://127.0.0.1:9/new").await;
        supervisor.reconcile().await;
        assert_eq!(
            endpoint_of(&supervisor).as_deref(),
            Some("http://127.0.0.1:9/new")
        );

        broker
            .catalog
            .delete_subscription("hooks")
            .await
            .expect("delete");
        supervisor.reconcile().await;
        assert_eq!(endpoint_of(&supervisor), None);
        assert!(supervisor.running.is_empty());
    }
}

//! What push delivery needs from the broker: the push subscriptions in the
//! metadata, a signal when the metadata changes, and a topic's wake-up. Pulls
//! and streams on a push subscription are refused here.

use std::sync::Arc;

use cluster::{Subscription, TopicName};
use tokio::sync::{Notify, watch};

use super::delivery::DeliveryTarget;
use super::{Broker, BrokerError};

impl Broker {
    /// Every push subscription, in name order.
    pub fn push_subscriptions(&self) -> Vec<Subscription> {
        self.metadata.read(|md| {
            md.subscriptions_after(None, usize::MAX)
                .into_iter()
                .filter(|s| s.config.push.is_some())
                .cloned()
                .collect()
        })
    }

    /// Changes after every metadata change (see [`crate::metadata_store::MetadataStore::changes`]).
    pub fn metadata_changes(&self) -> watch::Receiver<u64> {
        self.metadata.changes()
    }

    /// Notified when `topic` may have new deliverable messages (a publish, a
    /// nack). Register interest (`Notified::enable`) before looking for work,
    /// so a wake-up between the look and the wait is not lost.
    pub fn topic_waker(&self, topic: &TopicName) -> Arc<Notify> {
        self.waker(topic)
    }
}

impl DeliveryTarget {
    /// Refuses pulls and streams on a push subscription: its messages go to the
    /// push endpoint, and a puller would compete with it for them.
    pub fn check_pull_allowed(&self) -> Result<(), BrokerError> {
        if self.subscription.config.push.is_some() {
            return Err(BrokerError::precondition(format!(
                "subscription {} is a push subscription: push subscriptions deliver by HTTP POST \
                 to their endpoint, so they cannot be pulled or streamed",
                self.subscription.name
            )));
        }
        Ok(())
    }
}

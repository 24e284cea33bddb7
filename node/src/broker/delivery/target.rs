//! [`DeliveryTarget`]: a subscription resolved for delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::broker::error::BrokerError;
use crate::broker::wakers::TopicWaker;
use crate::storage::{DeliveryPolicy, PartitionRef};
use cluster::{MemberId, Subscription, Topic};

/// A subscription resolved for delivery: its config, its topic, and the waker
/// that fires when the topic may have something new.
#[derive(Debug, Clone)]
pub struct DeliveryTarget {
    pub subscription: Subscription,
    pub topic: Topic,
    /// On a partitioned subscription, the group member served (see
    /// [`crate::broker::groups`]).
    pub member: Option<MemberId>,
    waker: Arc<TopicWaker>,
    /// The waker's mark when this target last looked for work (`u64::MAX`:
    /// never), shared by clones.
    looked: Arc<AtomicU64>,
}

impl DeliveryTarget {
    /// A target serving no group member.
    pub(crate) fn new(subscription: Subscription, topic: Topic, waker: Arc<TopicWaker>) -> Self {
        Self {
            subscription,
            topic,
            member: None,
            waker,
            looked: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }

    /// The settings storage needs to deliver this subscription's messages.
    pub fn policy(&self) -> DeliveryPolicy {
        let config = &self.subscription.config;
        DeliveryPolicy {
            ordered: config.enable_message_ordering,
            retry: config.retry_policy,
            max_attempts: config
                .dead_letter_policy
                .as_ref()
                .map(|d| d.max_delivery_attempts),
            mode: config.delivery_mode,
        }
    }

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

    pub(crate) fn partition(&self, partition: u32) -> PartitionRef {
        PartitionRef {
            topic: self.topic.name.clone(),
            partition,
        }
    }

    /// The topic's waker, for waiting on new work.
    pub(crate) fn waker(&self) -> &TopicWaker {
        &self.waker
    }

    /// Notes that the target looks for work now.
    pub(crate) fn note_look(&self) {
        self.looked.store(self.waker.mark(), Ordering::SeqCst);
    }

    /// Whether a wake-up or relay came since the target last looked for work.
    pub(crate) fn woken_since_look(&self) -> bool {
        self.looked.load(Ordering::SeqCst) != self.waker.mark()
    }

    /// Wakes everyone waiting on the topic, here and on watching nodes.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }
}

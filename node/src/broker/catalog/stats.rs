//! A subscription's backlog, summed over its partitions: for `GET` of a
//! topic or subscription and for the lag gauges.

use api::types::{PartitionBacklog, SubscriptionStats};
use cluster::{Subscription, Topic};

use crate::broker::error::BrokerError;
use crate::broker::metadata_view::partition_refs;
use crate::storage::Storage;

/// The backlog of `sub` at `now` (Unix ms), per partition and in total.
pub async fn subscription_stats(
    storage: &dyn Storage,
    sub: &Subscription,
    topic: &Topic,
    now: u64,
) -> Result<SubscriptionStats, BrokerError> {
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
        let backlog = storage.backlog(&sub.name, &at, now).await?;
        stats.backlog_messages += backlog.unacked;
        stats.outstanding_messages += backlog.outstanding;
        stats.expired_messages += backlog.expired;
        stats.dead_lettered_messages += backlog.dead_lettered;
        stats
            .parked_ordering_keys
            .extend(storage.parked_keys(&sub.name, &at).await?);
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

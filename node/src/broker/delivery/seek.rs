//! Seek: move a subscription to a time, to the earliest retained message, or
//! to the end.

use api::types::{SeekRequest, StartPosition};

use super::Delivery;
use crate::broker::convert::parse_time;
use crate::broker::error::BrokerError;
use crate::broker::metadata_view::partition_refs;
use crate::storage::SeekTarget;

impl Delivery {
    /// Messages before the target count as acknowledged, the rest as never
    /// delivered (even if they were acknowledged). Leases, pending retries and
    /// dead letters of the subscription are dropped.
    pub async fn seek(&self, name: &str, request: SeekRequest) -> Result<(), BrokerError> {
        let target = match (
            parse_time("time", request.time.as_deref())?,
            request.position,
        ) {
            (Some(millis), None) => SeekTarget::Time(millis),
            (None, Some(StartPosition::Earliest)) => SeekTarget::Earliest,
            (None, Some(StartPosition::Latest)) => SeekTarget::Latest,
            _ => {
                return Err(BrokerError::invalid(
                    "seek needs exactly one of time (RFC 3339) and position (earliest or latest)",
                ));
            }
        };
        let delivery = self.target(name).await?;
        for at in partition_refs(&delivery.topic) {
            self.storage
                .seek(&delivery.subscription.name, &at, target)
                .await?;
        }
        delivery.wake();
        Ok(())
    }
}

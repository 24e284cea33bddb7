//! Acks and deadline changes, whether sent as unary calls or on a
//! StreamingPull stream: each goes to the broker and then frees or extends
//! what the holding stream counts (see `held`).

use cluster::subscription::{MAX_ACK_DEADLINE_SECONDS, MIN_ACK_DEADLINE_SECONDS};
use tonic::Status;

use super::held::HeldMessages;
use crate::broker::{Broker, BrokerError};

/// A requested ack deadline as the broker takes it: 0 (a nack) or 10 to 600.
/// Google accepts 1 to 9 too; the broker's shortest lease is 10 s, which
/// only gives the client more time than it asked for.
pub fn ack_deadline(field: &str, seconds: i32) -> Result<u32, Status> {
    match u32::try_from(seconds) {
        Ok(0) => Ok(0),
        Ok(s) if s <= MAX_ACK_DEADLINE_SECONDS => Ok(s.max(MIN_ACK_DEADLINE_SECONDS)),
        _ => Err(Status::invalid_argument(format!(
            "{field} must be 0 to {MAX_ACK_DEADLINE_SECONDS}, got {seconds}"
        ))),
    }
}

/// Acks `ack_ids` and gives their streams the credit back. Ids that failed
/// under exactly-once are released too: they will never be acked.
pub async fn acknowledge(
    broker: &Broker,
    held: &HeldMessages,
    subscription: &str,
    ack_ids: &[String],
) -> Result<(), BrokerError> {
    let result = broker.delivery.acknowledge(subscription, ack_ids).await;
    if matches!(result, Ok(_) | Err(BrokerError::AckExpired { .. })) {
        held.release(subscription, ack_ids);
    }
    result.map(|_| ())
}

/// Extends the leases of `ack_ids` to `seconds` from now, or nacks them (0).
pub async fn modify_ack_deadline(
    broker: &Broker,
    held: &HeldMessages,
    subscription: &str,
    ack_ids: &[String],
    seconds: u32,
) -> Result<(), BrokerError> {
    let delivery = &broker.delivery;
    delivery
        .modify_ack_deadline(subscription, ack_ids, seconds)
        .await?;
    if seconds == 0 {
        held.release(subscription, ack_ids);
    } else {
        let deadline = delivery.clock().now_millis() + u64::from(seconds) * 1000;
        held.extend(subscription, ack_ids, deadline);
    }
    Ok(())
}

//! The documented publish limits, checked before anything is stored.

use api::limits;
use api::types::{PublishMessage, PublishRequest};
use cluster::Topic;

use crate::broker::error::BrokerError;

/// Checks every documented limit before anything is stored, so a bad batch is
/// refused whole. Answers the batch's size (data plus attributes).
pub(super) fn validate_batch(
    topic: &Topic,
    request: &PublishRequest,
) -> Result<usize, BrokerError> {
    let count = request.messages.len();
    if count == 0 {
        return Err(BrokerError::invalid(
            "messages must contain at least one message",
        ));
    }
    if count > limits::MAX_BATCH_MESSAGES {
        return Err(BrokerError::PayloadTooLarge {
            detail: format!(
                "a publish may carry at most {} messages, got {count}",
                limits::MAX_BATCH_MESSAGES
            ),
        });
    }
    let mut total = 0usize;
    for (i, message) in request.messages.iter().enumerate() {
        total += validate_message(topic, i, message)?;
    }
    if total > limits::MAX_BATCH_BYTES {
        return Err(BrokerError::PayloadTooLarge {
            detail: format!(
                "a publish may carry at most {} bytes of data and attributes, got {total}",
                limits::MAX_BATCH_BYTES
            ),
        });
    }
    Ok(total)
}

/// Returns the message's size (data plus attributes).
fn validate_message(
    topic: &Topic,
    i: usize,
    message: &PublishMessage,
) -> Result<usize, BrokerError> {
    let invalid = |what: String| Err(BrokerError::invalid(format!("messages[{i}]: {what}")));
    if message.data.is_empty() && message.attributes.is_empty() {
        return invalid("needs non-empty data or at least one attribute".to_owned());
    }
    if message.attributes.len() > limits::MAX_ATTRIBUTES {
        return invalid(format!(
            "at most {} attributes are allowed",
            limits::MAX_ATTRIBUTES
        ));
    }
    for (key, value) in &message.attributes {
        if key.is_empty() || key.len() > limits::MAX_ATTRIBUTE_KEY_BYTES {
            return invalid(format!(
                "attribute keys must be 1 to {} bytes, got {:?}",
                limits::MAX_ATTRIBUTE_KEY_BYTES,
                key
            ));
        }
        if value.len() > limits::MAX_ATTRIBUTE_VALUE_BYTES {
            return invalid(format!(
                "attribute {key:?} is longer than {} bytes",
                limits::MAX_ATTRIBUTE_VALUE_BYTES
            ));
        }
    }
    if let Some(key) = &message.ordering_key
        && key.len() > limits::MAX_ORDERING_KEY_BYTES
    {
        return invalid(format!(
            "orderingKey is longer than {} bytes",
            limits::MAX_ORDERING_KEY_BYTES
        ));
    }
    if message
        .deliver_after
        .is_some_and(|d| d.as_millis() > limits::MAX_DELIVER_AFTER_SECONDS * 1000)
    {
        return invalid(format!(
            "deliverAfter must be at most {}s",
            limits::MAX_DELIVER_AFTER_SECONDS
        ));
    }
    if message.ttl.is_some_and(|d| d.as_millis() == 0) {
        return invalid("ttl must be positive".to_owned());
    }
    if let Some(priority) = message.priority
        && priority > limits::MAX_PRIORITY
    {
        return invalid(format!(
            "priority must be 0 to {}, got {priority}",
            limits::MAX_PRIORITY
        ));
    }
    let size = limits::counted_bytes(&message.data.0, &message.attributes);
    if size > topic.config.max_message_bytes as usize {
        return Err(BrokerError::PayloadTooLarge {
            detail: format!(
                "messages[{i}] is {size} bytes; topic {} accepts at most {} (maxMessageBytes)",
                topic.name, topic.config.max_message_bytes
            ),
        });
    }
    Ok(size)
}

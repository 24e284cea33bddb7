//! The publish path: validate, deduplicate, choose partitions, append, wake.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use api::limits;
use api::types::{AckLevel, PublishMessage, PublishRequest, PublishResponse};
use cluster::Topic;
use cluster::partitioning::partition_for_key;
use xxhash_rust::xxh3::xxh3_64;

use super::dedup::Claim;
use super::{Broker, BrokerError, SINGLE_NODE_EPOCH};
use crate::storage::{AppendOptions, IdempotentAppend, Millis, NewMessage, PartitionRef};

impl Broker {
    /// Stores a batch and reports where each message went.
    pub async fn publish(
        &self,
        topic: &str,
        request: PublishRequest,
        idempotency_key: Option<&str>,
    ) -> Result<PublishResponse, BrokerError> {
        let topic = self.find_topic(topic).await?;
        // A malformed key is refused even where deduplication is off, as the
        // API document says; and before the body, whose size may be refused too.
        idempotency_key.map(validate_idempotency_key).transpose()?;
        validate_batch(&topic, &request)?;
        let dedup = idempotency_key.filter(|_| topic.config.dedup_window_millis > 0);
        let Some(key) = dedup else {
            return self.append_batch(&topic, request, None).await;
        };
        let fingerprint = fingerprint(&request);
        let now = self.clock.now_millis();
        match self.idempotency.claim(&topic.name, key, fingerprint, now) {
            Claim::Replay(response) => return Ok(response),
            Claim::InProgress => {
                return Err(BrokerError::IdempotencyKeyInUse {
                    key: key.to_owned(),
                });
            }
            Claim::BodyMismatch => {
                return Err(BrokerError::IdempotencyKeyReused {
                    key: key.to_owned(),
                });
            }
            Claim::New => {}
        }
        // Storage remembers the key too, so a retry after an unknown outcome
        // (when this cache has let the key go) stores nothing new.
        let idempotent = IdempotentAppend {
            key: key.to_owned(),
            ttl_millis: topic.config.dedup_window_millis,
        };
        match self.append_batch(&topic, request, Some(idempotent)).await {
            Ok(response) => {
                let expires = self.clock.now_millis() + topic.config.dedup_window_millis;
                self.idempotency
                    .complete(&topic.name, key, fingerprint, response.clone(), expires);
                Ok(response)
            }
            Err(error) => {
                self.idempotency.abandon(&topic.name, key);
                Err(error)
            }
        }
    }

    pub(super) async fn append_batch(
        &self,
        topic: &Topic,
        request: PublishRequest,
        idempotent: Option<IdempotentAppend>,
    ) -> Result<PublishResponse, BrokerError> {
        let appended = self.append_placed(topic, request, idempotent).await;
        if let Some(failure) = appended.failure {
            return Err(failure);
        }
        let placed: Vec<(u32, u64)> = appended.placed.into_iter().flatten().collect();
        Ok(response(&placed, appended.ack_level))
    }

    /// Appends a request's messages, one storage call per partition. A failed
    /// partition does not stop the others: each message's place is reported,
    /// `None` where its partition's append failed, with the first failure.
    pub(super) async fn append_placed(
        &self,
        topic: &Topic,
        request: PublishRequest,
        idempotent: Option<IdempotentAppend>,
    ) -> Appended {
        let count = request.messages.len();
        let now = self.clock.now_millis();
        let partitions = topic.config.partitions;
        // A retried idempotent publish must reach the same partitions as the
        // first attempt, so its unkeyed messages follow the key, not the turn.
        let unkeyed_partition = match &idempotent {
            Some(idempotent) => partition_for_key(&idempotent.key, partitions),
            None => self.round_robin.fetch_add(1, Ordering::Relaxed) % partitions,
        };
        // Partition → (index in request, message), keeping request order inside each.
        let mut groups: BTreeMap<u32, Vec<(usize, NewMessage)>> = BTreeMap::new();
        for (index, message) in request.messages.into_iter().enumerate() {
            let partition = message
                .ordering_key
                .as_deref()
                .map_or(unkeyed_partition, |key| partition_for_key(key, partitions));
            groups
                .entry(partition)
                .or_default()
                .push((index, new_message(message, now)));
        }
        let options = AppendOptions {
            idempotency: idempotent,
            ..super::convert::append_options(&topic.config, self.storage.ack_level())
        };
        // Messages with no key and no idempotency key may go to any partition:
        // in a cluster, when their partition cannot be written now (its owner is away),
        // they try the next ones, as Kafka's producer avoids unavailable
        // partitions for unkeyed records.
        let movable = options.idempotency.is_none()
            && groups.len() == 1
            && self.multi_node()
            && groups.contains_key(&unkeyed_partition)
            && groups
                .values()
                .flatten()
                .all(|(_, m)| m.ordering_key.is_none());
        let mut appended = Appended {
            placed: vec![None; count],
            failure: None,
            ack_level: options.ack_level,
        };
        for (first, group) in groups {
            let (indexes, mut batch): (Vec<usize>, Vec<NewMessage>) = group.into_iter().unzip();
            let tries = if movable { partitions } else { 1 };
            let mut attempt = 0;
            let stored = loop {
                let partition = (first + attempt) % partitions;
                let at = PartitionRef {
                    topic: topic.name.clone(),
                    partition,
                };
                // Copied only while another partition may still be tried.
                let payload = if attempt + 1 < tries {
                    batch.clone()
                } else {
                    std::mem::take(&mut batch)
                };
                match self
                    .storage
                    .append_with(&at, SINGLE_NODE_EPOCH, payload, &options)
                    .await
                {
                    Ok(offsets) => break Ok((partition, offsets)),
                    Err(e) if e.is_unavailable() && attempt + 1 < tries => {
                        tracing::debug!(partition, error = %e, "partition unavailable; trying the next");
                        attempt += 1;
                    }
                    Err(e) => break Err(e),
                }
            };
            match stored {
                Ok((partition, offsets)) => {
                    for (index, offset) in indexes.into_iter().zip(offsets) {
                        appended.placed[index] = Some((partition, offset));
                    }
                }
                Err(e) => {
                    appended.failure.get_or_insert(e.into());
                }
            }
        }
        let stored = appended.placed.iter().flatten().count() as u64;
        self.metrics.published.inc_by(stored);
        self.metrics
            .topic_messages
            .get_or_create(&crate::telemetry::metrics::TopicLabel {
                topic: topic.name.to_string(),
            })
            .inc_by(stored);
        if stored > 0 {
            self.wake(&topic.name);
        }
        appended
    }
}

/// The answer to a publish whose messages went to `placed` (partition, offset).
pub(super) fn response(placed: &[(u32, u64)], ack_level: AckLevel) -> PublishResponse {
    PublishResponse {
        message_ids: placed.iter().map(|(p, o)| format!("{p}-{o}")).collect(),
        partitions: placed.iter().map(|(p, _)| *p).collect(),
        offsets: placed.iter().map(|(_, o)| *o).collect(),
        ack_level,
        deduplicated: false,
    }
}

/// What [`Broker::append_placed`] stored.
pub(super) struct Appended {
    /// Where each message went; `None` where its partition's append failed.
    pub(super) placed: Vec<Option<(u32, u64)>>,
    pub(super) failure: Option<BrokerError>,
    pub(super) ack_level: AckLevel,
}

fn new_message(message: PublishMessage, now: u64) -> NewMessage {
    NewMessage {
        data: message.data.0,
        attributes: message.attributes,
        ordering_key: message.ordering_key.filter(|k| !k.is_empty()),
        priority: message.priority.unwrap_or(limits::DEFAULT_PRIORITY),
        publish_time_millis: now,
        // 0 only for "0s" at time 0: not delayed, as `None` says.
        deliver_at_millis: message
            .deliver_after
            .and_then(|d| Millis::new(now.saturating_add(d.as_millis()))),
        expire_at_millis: message
            .ttl
            .and_then(|d| Millis::new(now.saturating_add(d.as_millis()))),
    }
}

/// Hash of the request body that identifies a retry (attributes are ordered,
/// so the JSON encoding is canonical).
fn fingerprint(request: &PublishRequest) -> u64 {
    xxh3_64(&serde_json::to_vec(request).unwrap_or_default())
}

fn validate_idempotency_key(key: &str) -> Result<(), BrokerError> {
    if key.is_empty()
        || key.len() > limits::MAX_IDEMPOTENCY_KEY_BYTES
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(BrokerError::invalid(format!(
            "Idempotency-Key must be 1 to {} visible ASCII characters",
            limits::MAX_IDEMPOTENCY_KEY_BYTES
        )));
    }
    Ok(())
}

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

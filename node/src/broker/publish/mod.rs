//! [`Publisher`]: the publish path. Validate, deduplicate, choose
//! partitions, append, wake.
//!
//! - this file: the publisher, `publish` with its idempotency keys, and the
//!   append every publish ends in (one storage call per partition).
//! - `validate`: the documented limits, checked before anything is stored.
//! - [`dedup`]: the in-memory idempotency cache, its bound and what happens at it.
//! - [`pipeline`]: publishes that arrived together on a publish stream,
//!   stored with one append per partition.

pub mod dedup;
pub mod pipeline;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

use api::limits;
use api::types::{AckLevel, PublishMessage, PublishRequest, PublishResponse, message_id};
use cluster::Topic;
use cluster::partitioning::partition_for_key;
use xxhash_rust::xxh3::xxh3_64;

use self::dedup::{Claim, IdempotencyCache};
use self::validate::validate_batch;
use crate::broker::convert;
use crate::broker::error::BrokerError;
use crate::broker::metadata_view::MetadataView;
use crate::broker::round_robin::RoundRobin;
use crate::broker::wakers::TopicWakers;
use crate::clock::Clock;
use crate::overload::budget::MemoryBudget;
use crate::storage::{
    AppendOptions, IdempotentAppend, Millis, NewMessage, PartitionRef, Storage, StorageError,
};
use crate::telemetry::Metrics;
use crate::telemetry::metrics::TopicLabel;
use crate::telemetry::{context, messaging};
use tracing::Instrument;

/// Stores what publishers send: owns the idempotency cache (bounded, see
/// [`dedup`]); wakes the topic's waiters after each append.
#[derive(Debug)]
pub struct Publisher {
    metadata: MetadataView,
    storage: Arc<dyn Storage>,
    clock: Clock,
    metrics: Arc<Metrics>,
    idempotency: IdempotencyCache,
    round_robin: Arc<RoundRobin>,
    wakers: Arc<TopicWakers>,
    /// Its alarm refuses publishes (see [`crate::overload`]).
    memory: Arc<MemoryBudget>,
}

impl Publisher {
    #[expect(
        clippy::too_many_arguments,
        reason = "one handle per thing the publish path shares; only Broker::new and tests call it"
    )]
    pub fn new(
        metadata: MetadataView,
        storage: Arc<dyn Storage>,
        clock: Clock,
        metrics: Arc<Metrics>,
        round_robin: Arc<RoundRobin>,
        wakers: Arc<TopicWakers>,
        idempotency: IdempotencyCache,
        memory: Arc<MemoryBudget>,
    ) -> Self {
        Self {
            metadata,
            storage,
            clock,
            metrics,
            idempotency,
            round_robin,
            wakers,
            memory,
        }
    }

    /// Refuses a publish while the memory alarm is raised.
    fn admit(&self) -> Result<(), BrokerError> {
        self.memory
            .admit_publish()
            .map_err(BrokerError::MemoryAlarm)
    }

    /// Counts a publish refused with nothing stored, by why (a forwarded
    /// append refused by its owner's memory alarm is counted by the owner).
    fn count_refusal(&self, error: &BrokerError) {
        let reason = match error {
            BrokerError::Storage(StorageError::PartitionFull { .. }) => "partition_full",
            BrokerError::Storage(StorageError::Full { .. }) => "storage_full",
            _ => return,
        };
        self.metrics.overload.refuse(reason);
    }

    /// Forgets idempotency keys expired at `now_millis` and every key of a
    /// deleted topic.
    pub fn forget_expired_keys(&self, now_millis: u64) {
        self.idempotency.sweep(now_millis, |t| {
            self.metadata.store().read(|md| md.topic(t).is_some())
        });
    }

    /// Stores a batch and reports where each message went, in a `publish
    /// {topic}` span whose context each message without one carries.
    pub async fn publish(
        &self,
        topic: &str,
        request: PublishRequest,
        idempotency_key: Option<&str>,
    ) -> Result<PublishResponse, BrokerError> {
        let span = messaging::publish(topic, request.messages.len());
        self.publish_traced(topic, request, idempotency_key)
            .instrument(span)
            .await
    }

    async fn publish_traced(
        &self,
        topic: &str,
        request: PublishRequest,
        idempotency_key: Option<&str>,
    ) -> Result<PublishResponse, BrokerError> {
        let topic = self.metadata.find_topic(topic).await?;
        // A malformed key is refused even where deduplication is off, as the
        // API document says; and before the body, whose size may be refused too.
        idempotency_key.map(validate_idempotency_key).transpose()?;
        validate_batch(&topic, &request)?;
        self.admit()?;
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
            Claim::Full => return Err(BrokerError::IdempotencyCacheFull),
            Claim::New => {}
        }
        // Storage remembers the key too, so a retry after this cache let the
        // key go (a failed attempt, an eviction, a restart, another node)
        // stores nothing new.
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

    pub(crate) async fn append_batch(
        &self,
        topic: &Topic,
        request: PublishRequest,
        idempotent: Option<IdempotentAppend>,
    ) -> Result<PublishResponse, BrokerError> {
        let appended = self.append_placed(topic, request, idempotent).await;
        for error in appended.errors() {
            self.count_refusal(error);
        }
        if let Some(failure) = appended.failure_of(0..appended.placed.len()) {
            return Err(appended.into_error(failure));
        }
        let placed: Vec<(u32, u64)> = appended.placed.into_iter().flatten().collect();
        Ok(response(&placed, appended.ack_level))
    }

    /// Appends a request's messages, one storage call per partition. A failed
    /// partition does not stop the others: each message's place is reported,
    /// `None` where its partition's append failed, with the first failure.
    pub(crate) async fn append_placed(
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
            None => self.round_robin.next(partitions),
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
            ..convert::append_options(&topic.config, self.storage.ack_level())
        };
        // Messages with no key and no idempotency key may go to any partition:
        // in a cluster, when their partition cannot be written now (its owner is away),
        // they try the next ones, as Kafka's producer avoids unavailable
        // partitions for unkeyed records.
        let movable = options.idempotency.is_none()
            && groups.len() == 1
            && self.metadata.multi_node()
            && groups.contains_key(&unkeyed_partition)
            && groups
                .values()
                .flatten()
                .all(|(_, m)| m.ordering_key.is_none());
        let mut appended = Appended {
            placed: vec![None; count],
            failed_with: vec![None; count],
            errors: Vec::new(),
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
                let payload = std::mem::take(&mut batch);
                // While another partition may still be tried, a failed append
                // hands the messages back (routed storage does so without a
                // copy when the owner is another node).
                let answer = if attempt + 1 < tries {
                    self.storage
                        .append_with_returning(&at, payload, &options)
                        .await
                } else {
                    self.storage
                        .append_with(&at, payload, &options)
                        .await
                        .map_err(|e| (e, None))
                };
                match answer {
                    Ok(offsets) => break Ok((partition, offsets)),
                    Err((e, Some(back))) if e.is_unavailable() && attempt + 1 < tries => {
                        tracing::debug!(partition, error = %e, "partition unavailable; trying the next");
                        batch = back;
                        attempt += 1;
                    }
                    Err((e, _)) => break Err(e),
                }
            };
            match stored {
                Ok((partition, offsets)) => {
                    for (index, offset) in indexes.into_iter().zip(offsets) {
                        appended.placed[index] = Some((partition, offset));
                    }
                }
                Err(e) => {
                    for index in indexes {
                        appended.failed_with[index] = Some(appended.errors.len());
                    }
                    appended.errors.push(e.into());
                }
            }
        }
        let stored = appended.placed.iter().flatten().count() as u64;
        self.metrics.published.inc_by(stored);
        self.metrics
            .topic_messages
            .get_or_create(&TopicLabel {
                topic: topic.name.to_string(),
            })
            .inc_by(stored);
        if stored > 0 {
            self.wakers.wake(&topic.name);
        }
        appended
    }
}

/// The answer to a publish whose messages went to `placed` (partition, offset).
pub(crate) fn response(placed: &[(u32, u64)], ack_level: AckLevel) -> PublishResponse {
    PublishResponse {
        message_ids: placed.iter().map(|(p, o)| message_id(*p, *o)).collect(),
        partitions: placed.iter().map(|(p, _)| *p).collect(),
        offsets: placed.iter().map(|(_, o)| *o).collect(),
        ack_level,
        deduplicated: false,
    }
}

/// What [`Publisher::append_placed`] stored.
pub(crate) struct Appended {
    /// Where each message went; `None` where its partition's append failed.
    pub(crate) placed: Vec<Option<(u32, u64)>>,
    /// For each message whose append failed, its error in `errors`.
    failed_with: Vec<Option<usize>>,
    /// One error per failed partition.
    errors: Vec<BrokerError>,
    pub(crate) ack_level: AckLevel,
}

/// Why some messages of a request were not all stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Some were stored and some not: the request as a whole may have
    /// happened, an unknown outcome (a retry with the same idempotency key
    /// stores the rest, and only the rest).
    Partial { stored: usize, of: usize },
    /// None was stored; this error (in `Appended::errors`) says why. An
    /// unknown outcome of one partition wins over a definite failure of
    /// another: the answer is definite only if every failure was.
    Error(usize),
}

impl Appended {
    /// Why the messages at `range` (request order) were not all stored;
    /// `None` when they were.
    pub(crate) fn failure_of(&self, range: std::ops::Range<usize>) -> Option<Failure> {
        let failed: Vec<usize> = self.failed_with[range.clone()]
            .iter()
            .flatten()
            .copied()
            .collect();
        let first = *failed.first()?;
        let stored = range.len() - failed.len();
        if stored > 0 {
            return Some(Failure::Partial {
                stored,
                of: range.len(),
            });
        }
        let unknown = failed
            .iter()
            .copied()
            .find(|&e| !self.errors[e].code().definite());
        Some(Failure::Error(unknown.unwrap_or(first)))
    }

    /// Every failed partition's error, in the order they failed.
    pub(crate) fn errors(&self) -> &[BrokerError] {
        &self.errors
    }

    /// The error to answer for `failure` (from [`Appended::failure_of`]).
    pub(crate) fn into_error(mut self, failure: Failure) -> BrokerError {
        match failure {
            Failure::Error(index) => self.errors.swap_remove(index),
            Failure::Partial { stored, of } => partial(stored, of, &self.errors[0].to_string()),
        }
    }

    /// The errors, shared, for answers that each name one (a pipelined run).
    pub(crate) fn shared_errors(&mut self) -> Vec<std::sync::Arc<BrokerError>> {
        let errors = std::mem::take(&mut self.errors);
        errors.into_iter().map(std::sync::Arc::new).collect()
    }
}

/// The error of a request `stored` of whose `of` messages were stored, the
/// others failing (the first failure: `cause`).
pub(crate) fn partial(stored: usize, of: usize, cause: &str) -> BrokerError {
    BrokerError::Storage(StorageError::OutcomeUnknown {
        reason: format!(
            "{stored} of the request's {of} messages were stored, the others not ({cause}); \
             retry with the same idempotency key to store the rest once"
        ),
    })
}

fn new_message(message: PublishMessage, now: u64) -> NewMessage {
    let mut attributes = message.attributes;
    context::stamp_current(&mut attributes);
    NewMessage {
        data: message.data.0,
        attributes,
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

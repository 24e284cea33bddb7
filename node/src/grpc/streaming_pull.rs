//! StreamingPull: one session per stream, delivering as flow control allows.
//!
//! - **First request**: names the subscription and sets the stream's ack
//!   deadline (10 to 600 s; 0 takes the subscription's) and flow control
//!   (`max_outstanding_messages`/`_bytes`, 0 = no limit but the broker's
//!   stream cap). Later requests may change the deadline.
//! - **Credit**: a delivered message counts until it is acked or nacked (on
//!   the stream or by a unary call: see `held`) or its lease deadline passes.
//! - **Leases** last the stream's ack deadline (set by an extension right
//!   after the lease when it differs from the subscription's).
//! - **Responses** stay under 4 MiB (Python's client cannot receive more over
//!   an emulator channel); each carries `subscription_properties`, from which
//!   clients learn exactly-once and ordering. A request with nothing in it (a
//!   heartbeat) is answered with an empty response when `protocol_version` ≥ 1,
//!   so Go's client sees a live stream.
//! - **End**: `UNAVAILABLE` on shutdown, when the owner of one of the
//!   topic's partitions changes (the metadata says so; its leases now
//!   belong to the new owner's epoch) or when a lease fails (storage is
//!   down), which clients answer by reopening the stream; the stream just
//!   ends when the client closes its side.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::limits::{MAX_PULL_MESSAGES, MAX_STREAM_CREDIT};
use cluster::subscription::DeliveryMode;
use cluster::{PartitionOwner, Topic};
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::streaming_pull_response::{
    AcknowledgeConfirmation, SubscriptionProperties,
};
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    StreamingPullRequest, StreamingPullResponse,
};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::held::{HeldMessages, StreamHold};
use super::messages::to_received;
use super::names::ResourceName;
use super::settle::{ack_deadline, acknowledge, modify_ack_deadline};
use super::status::status;
use crate::broker::delivery::target::DeliveryTarget;
use crate::broker::{Broker, BrokerError};
use crate::security::stream_caps::StreamSlot;

/// One item of the response stream.
pub type StreamResult = Result<StreamingPullResponse, Status>;

/// The most bytes of messages in one response: Python's emulator channel
/// receives at most 4 MiB, and the response's own fields need a little room.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024 - 16 * 1024;

/// Checks the first request (`authorize` parses its subscription and checks
/// the caller may consume it) and starts the session, which holds `slot` of
/// the caller's stream cap until it ends.
pub async fn open(
    broker: Broker,
    held: Arc<HeldMessages>,
    mut requests: Streaming<StreamingPullRequest>,
    authorize: impl FnOnce(&str) -> Result<ResourceName, Status>,
    slot: Option<StreamSlot>,
) -> Result<ReceiverStream<StreamResult>, Status> {
    let first = requests.message().await?.ok_or_else(|| {
        Status::invalid_argument("StreamingPull's first request must name the subscription")
    })?;
    let name = authorize(&first.subscription)?;
    let target = broker.delivery.target(&name.id).await.map_err(status)?;
    target.check_pull_allowed().map_err(status)?;
    // A partitioned subscription needs a group member, which Google's API has not.
    broker
        .groups
        .delivery_scope(&target, 1)
        .await
        .map_err(status)?;
    let limit = |field: &str, value: i64, unlimited: usize| match usize::try_from(value) {
        Ok(0) => Ok(unlimited),
        Ok(n) => Ok(n),
        Err(_) => Err(Status::invalid_argument(format!(
            "{field} must not be negative, got {value}"
        ))),
    };
    let mut session = Session {
        max_messages: limit(
            "max_outstanding_messages",
            first.max_outstanding_messages,
            MAX_STREAM_CREDIT as usize,
        )?
        .min(MAX_STREAM_CREDIT as usize),
        max_bytes: limit(
            "max_outstanding_bytes",
            first.max_outstanding_bytes,
            usize::MAX,
        )?,
        answer_heartbeats: first.protocol_version >= 1,
        owners: owners(&broker, &target.topic),
        deadline_seconds: target.subscription.config.ack_deadline_seconds,
        subscription: name.id,
        hold: Arc::new(StreamHold::default()),
        properties: SubscriptionProperties {
            exactly_once_delivery_enabled: target.subscription.config.delivery_mode
                == DeliveryMode::ExactlyOnce,
            message_ordering_enabled: target.subscription.config.enable_message_ordering,
        },
        target,
        broker,
        held,
        _slot: slot,
    };
    session.set_deadline(first.stream_ack_deadline_seconds)?;
    let (tx, rx) = mpsc::channel(2);
    session.settle(&first, &tx).await.map_err(status)?;
    tokio::spawn(session.run(requests, tx));
    Ok(ReceiverStream::new(rx))
}

struct Session {
    broker: Broker,
    held: Arc<HeldMessages>,
    hold: Arc<StreamHold>,
    target: DeliveryTarget,
    subscription: String,
    properties: SubscriptionProperties,
    deadline_seconds: u32,
    max_messages: usize,
    max_bytes: usize,
    answer_heartbeats: bool,
    /// The topic's partition owners when the stream opened.
    owners: Vec<Option<PartitionOwner>>,
    /// The caller's stream-cap slot, given back when the session ends.
    _slot: Option<StreamSlot>,
}

impl Session {
    async fn run(
        self,
        mut requests: Streaming<StreamingPullRequest>,
        tx: mpsc::Sender<StreamResult>,
    ) {
        let shutdown = self.broker.shutdown.clone();
        let clock = self.broker.delivery.clock();
        let mut session = self;
        let mut changes = session.broker.metadata.store().changes();
        changes.mark_unchanged();
        let gauge = session.broker.metrics.connections("grpc-stream");
        gauge.inc();
        loop {
            if shutdown.is_cancelled() {
                let _ = tx
                    .send(Err(Status::unavailable("the server is shutting down")))
                    .await;
                break;
            }
            if owners(&session.broker, &session.target.topic) != session.owners {
                let topic = &session.target.topic.name;
                let _ = tx
                    .send(Err(Status::unavailable(format!(
                        "a partition of topic {topic} changed owner; open the stream again"
                    ))))
                    .await;
                break;
            }
            match session.deliver(&tx).await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(Some(error)) => {
                    let _ = tx.send(Err(error)).await;
                    break;
                }
                Err(None) => break,
            }
            let (held, bytes, first_expiry) = session.hold.outstanding(clock.now_millis());
            let room = held < session.max_messages && bytes < session.max_bytes;
            let expiry = first_expiry.map(|millis| clock.instant_at(millis));
            tokio::select! {
                request = requests.message() => match request {
                    Ok(Some(request)) => {
                        if let Err(error) = session.handle(request, &tx).await {
                            let _ = tx.send(Err(error)).await;
                            break;
                        }
                    }
                    // The client closed its side, or went away.
                    Ok(None) | Err(_) => break,
                },
                () = session.hold.released.notified() => {}
                () = session.wait(room, expiry) => {}
                () = tx.closed() => break,
                () = shutdown.cancelled() => {}
                Ok(()) = changes.changed() => {}
            }
        }
        session
            .held
            .expire(&session.subscription, &session.hold, u64::MAX);
        gauge.dec();
    }

    /// Waits for something that may let the session deliver: new messages
    /// (when there is room) or the expiry of a held message.
    async fn wait(&self, room: bool, expiry: Option<tokio::time::Instant>) {
        if room {
            self.broker
                .delivery
                .wait_for_work(&self.target, expiry)
                .await;
        } else if let Some(at) = expiry {
            tokio::time::sleep_until(at).await;
        } else {
            std::future::pending::<()>().await;
        }
    }

    /// Leases what the credit allows and sends it. `Err(Some)` ends the
    /// stream with that status; `Err(None)`: the client is gone.
    async fn deliver(&mut self, tx: &mpsc::Sender<StreamResult>) -> Result<usize, Option<Status>> {
        let delivery = &self.broker.delivery;
        let now = delivery.clock().now_millis();
        self.held.expire(&self.subscription, &self.hold, now);
        let (held, bytes, _) = self.hold.outstanding(now);
        if held >= self.max_messages || bytes >= self.max_bytes {
            return Ok(0);
        }
        let room = (self.max_messages - held).min(MAX_PULL_MESSAGES as usize);
        let leased = delivery
            .lease_batch(&self.target, room)
            .await
            .map_err(|e| Some(unavailable(e)))?;
        if leased.is_empty() {
            return Ok(0);
        }
        let count = leased.len();
        if self.deadline_seconds != self.target.subscription.config.ack_deadline_seconds {
            let ids: Vec<String> = leased.iter().map(|m| m.ack_id.clone()).collect();
            delivery
                .modify_ack_deadline(&self.subscription, &ids, self.deadline_seconds)
                .await
                .map_err(|e| Some(unavailable(e)))?;
        }
        let deadline = now + u64::from(self.deadline_seconds) * 1000;
        let with_attempt = self.target.subscription.config.dead_letter_policy.is_some();
        let mut response = self.response();
        let mut size = 0;
        for message in leased {
            let message = to_received(message, with_attempt);
            let message_size = message.encoded_len();
            let payload = message.message.as_ref().map_or(0, |m| m.encoded_len());
            self.held.hold(
                &self.subscription,
                &self.hold,
                &message.ack_id,
                deadline,
                payload,
            );
            if !response.received_messages.is_empty() && size + message_size > MAX_RESPONSE_BYTES {
                let full = std::mem::replace(&mut response, self.response());
                tx.send(Ok(full)).await.map_err(|_| None)?;
                size = 0;
            }
            size += message_size;
            response.received_messages.push(message);
        }
        tx.send(Ok(response)).await.map_err(|_| None)?;
        Ok(count)
    }

    /// Applies a later request: acks, deadline changes, a new stream
    /// deadline, or a heartbeat.
    async fn handle(
        &mut self,
        request: StreamingPullRequest,
        tx: &mpsc::Sender<StreamResult>,
    ) -> Result<(), Status> {
        self.set_deadline(request.stream_ack_deadline_seconds)?;
        let heartbeat = request.ack_ids.is_empty() && request.modify_deadline_ack_ids.is_empty();
        self.settle(&request, tx).await.map_err(status)?;
        if heartbeat && self.answer_heartbeats {
            let _ = tx.send(Ok(self.response())).await;
        }
        Ok(())
    }

    /// A nonzero `seconds` becomes the stream's ack deadline.
    fn set_deadline(&mut self, seconds: i32) -> Result<(), Status> {
        if seconds != 0 {
            self.deadline_seconds = ack_deadline("stream_ack_deadline_seconds", seconds)?;
        }
        Ok(())
    }

    /// The acks and deadline changes a request carries. Under exactly-once,
    /// acks are confirmed on the stream, failed ones as invalid.
    async fn settle(
        &self,
        request: &StreamingPullRequest,
        tx: &mpsc::Sender<StreamResult>,
    ) -> Result<(), BrokerError> {
        if request.modify_deadline_ack_ids.len() != request.modify_deadline_seconds.len() {
            return Err(BrokerError::invalid(
                "modify_deadline_ack_ids and modify_deadline_seconds must have the same length",
            ));
        }
        if !request.ack_ids.is_empty() {
            let acked = acknowledge(
                &self.broker,
                &self.held,
                &self.subscription,
                &request.ack_ids,
            )
            .await;
            let invalid = match acked {
                Ok(()) => Vec::new(),
                Err(BrokerError::AckExpired { ack_ids }) => ack_ids,
                Err(other) => return Err(other),
            };
            if self.properties.exactly_once_delivery_enabled {
                let mut response = self.response();
                response.acknowledge_confirmation = Some(AcknowledgeConfirmation {
                    ack_ids: request
                        .ack_ids
                        .iter()
                        .filter(|id| !invalid.contains(id))
                        .cloned()
                        .collect(),
                    invalid_ack_ids: invalid,
                    ..AcknowledgeConfirmation::default()
                });
                let _ = tx.send(Ok(response)).await;
            }
        }
        let mut by_seconds: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for (id, seconds) in request
            .modify_deadline_ack_ids
            .iter()
            .zip(&request.modify_deadline_seconds)
        {
            by_seconds.entry(*seconds).or_default().push(id.clone());
        }
        for (seconds, ids) in by_seconds {
            let seconds = ack_deadline("modify_deadline_seconds", seconds)
                .map_err(|e| BrokerError::invalid(e.message()))?;
            modify_ack_deadline(&self.broker, &self.held, &self.subscription, &ids, seconds)
                .await?;
        }
        Ok(())
    }

    fn response(&self) -> StreamingPullResponse {
        StreamingPullResponse {
            subscription_properties: Some(self.properties),
            ..StreamingPullResponse::default()
        }
    }
}

/// The owner (node and epoch) of each partition of `topic`.
fn owners(broker: &Broker, topic: &Topic) -> Vec<Option<PartitionOwner>> {
    broker.metadata.store().read(|md| {
        (0..topic.config.partitions)
            .map(|partition| md.placement().owner(&topic.name, partition))
            .collect()
    })
}

/// A failed lease ends the stream as `UNAVAILABLE` when a retry can help
/// (clients then reopen it), else with the error's own status.
fn unavailable(error: BrokerError) -> Status {
    if error.code().retryable() {
        Status::unavailable(error.to_string())
    } else {
        status(error)
    }
}

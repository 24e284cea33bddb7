//! Google Cloud Pub/Sub's gRPC API (`google.pubsub.v1.Publisher` and
//! `Subscriber`) over the broker, so Google's client libraries run unchanged
//! with `PUBSUB_EMULATOR_HOST` pointing at PubSubGo (`docs/google-clients.md`).
//!
//! - [`serve`]: the listener (`PUBSUB_GRPC_PORT`, default 8085), until shutdown.
//! - `services`: the server traits and routers tonic-build generates from
//!   `node/build.rs` over the `googleapis-tonic-google-pubsub-v1` message types.
//! - [`publisher`], [`subscriber`]: the RPCs, each a call into the broker part
//!   the REST handler of the same operation calls; [`streaming_pull`]: the
//!   StreamingPull session; [`settle`]: acks and deadline changes from unary
//!   calls and streams alike; [`held`]: which stream holds which delivery.
//! - [`names`]: `projects/{p}/topics/{id}` ↔ broker names (one flat namespace).
//! - [`topics`], [`subscriptions`], [`messages`]: Google's resources and
//!   messages ↔ the broker's; fields the broker cannot honour are refused.
//! - [`status`]: the one mapping from broker errors to gRPC statuses.
//!
//! Methods not listed in `node/build.rs` (snapshots, updates, schemas, IAM,
//! detach, push changes) answer `UNIMPLEMENTED`.
//!
//! The path of a StreamingPull: `services` → `SubscriberService::streaming_pull`
//! → `streaming_pull::open` (checks the first request) → `Session::run`
//! (`Delivery::lease_batch` as credit allows) → responses; the client's unary
//! `Acknowledge` → `settle::acknowledge` → `Delivery::acknowledge`, then
//! `HeldMessages::release` wakes the stream that held the ack ids.

pub mod held;
pub mod messages;
pub mod names;
pub mod publisher;
mod services;
pub mod settle;
pub mod status;
pub mod streaming_pull;
pub mod subscriber;
pub mod subscriptions;
pub mod topics;

use std::io;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use self::publisher::PublisherService;
use self::services::publisher_server::PublisherServer;
use self::services::subscriber_server::SubscriberServer;
use self::subscriber::SubscriberService;
use crate::broker::Broker;

/// The largest request accepted: a publish of the REST API's largest body.
const MAX_REQUEST_BYTES: usize = api::limits::MAX_REQUEST_BODY_BYTES;

/// Serves Google's Pub/Sub API on `listener` until `broker.shutdown` is
/// cancelled; open StreamingPull streams then end with `UNAVAILABLE`.
pub async fn serve(listener: TcpListener, broker: Broker) -> io::Result<()> {
    let shutdown = broker.shutdown.clone();
    let publisher = PublisherServer::new(PublisherService::new(broker.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let subscriber = SubscriberServer::new(SubscriberService::new(broker))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    tonic::transport::Server::builder()
        .add_service(publisher)
        .add_service(subscriber)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .map_err(io::Error::other)
}

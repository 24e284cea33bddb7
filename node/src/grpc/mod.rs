//! Google Cloud Pub/Sub's gRPC API (`google.pubsub.v1.Publisher` and
//! `Subscriber`) over the broker, so Google's client libraries run unchanged
//! with `PUBSUB_EMULATOR_HOST` pointing at PubSubGo (`docs/google-clients.md`).
//!
//! - [`serve`]: the listener (`PUBSUB_GRPC_PORT`, default 8085), until
//!   shutdown, over TLS with the client port's certificate when it has one.
//! - [`access`]: the front door: rate limits and authentication, as on the
//!   client port; [`guard`]: each RPC's authorization by the same policy.
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
//! The path of a StreamingPull: `access::check` → `services` →
//! `SubscriberService::streaming_pull`
//! → `streaming_pull::open` (checks the first request) → `Session::run`
//! (`Delivery::lease_batch` as credit allows) → responses; the client's unary
//! `Acknowledge` → `settle::acknowledge` → `Delivery::acknowledge`, then
//! `HeldMessages::release` wakes the stream that held the ack ids.

pub mod access;
pub mod guard;
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

use axum::Router;
use tokio::net::TcpListener;

use self::access::Access;
use self::guard::Guard;
use self::publisher::PublisherService;
use self::services::publisher_server::PublisherServer;
use self::services::subscriber_server::SubscriberServer;
use self::subscriber::SubscriberService;
use crate::broker::Broker;
use crate::http::rate_limit::ClientAddr;
use crate::security::ClientSecurity;
use crate::security::tls_listener::TlsListener;
use crate::telemetry::connections::CountingListener;

/// The largest request accepted: a publish of the REST API's largest body.
const MAX_REQUEST_BYTES: usize = api::limits::MAX_REQUEST_BODY_BYTES;

/// Serves Google's Pub/Sub API on `listener` until `broker.shutdown` is
/// cancelled, with the TLS, authentication and rate limits of `security`
/// (the client port's); open StreamingPull streams then end with
/// `UNAVAILABLE`.
pub async fn serve(
    listener: TcpListener,
    broker: Broker,
    security: ClientSecurity,
) -> io::Result<()> {
    let shutdown = broker.shutdown.clone();
    let guard = Guard::new(security.auth.clone());
    let publisher = PublisherServer::new(PublisherService::new(broker.clone(), guard.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let subscriber = SubscriberServer::new(SubscriberService::new(broker.clone(), guard))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let door = Access {
        gate: security.auth,
        limits: security.limits,
    };
    let app: Router = tonic::service::Routes::new(publisher)
        .add_service(subscriber)
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(door, access::check));
    let app = app.into_make_service_with_connect_info::<ClientAddr>();
    let counted = CountingListener::new(listener, broker.metrics.connections("grpc"));
    let stop = shutdown.cancelled_owned();
    match security.grpc_tls {
        Some(config) => {
            axum::serve(TlsListener::new(counted, config)?, app)
                .with_graceful_shutdown(stop)
                .await
        }
        None => axum::serve(counted, app).with_graceful_shutdown(stop).await,
    }
}

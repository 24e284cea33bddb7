//! One running PubSubGo broker.
//!
//! # Modules
//! - [`config`]: settings from flags, `PUBSUB_*` environment variables and a YAML file.
//! - [`server`]: binds the client and metrics ports and runs until shutdown; [`TestNode`]
//!   starts one on ephemeral ports for tests.
//! - [`http`]: the axum router: routes, JSON and compressed bodies, problem+json errors,
//!   the WebSocket stream.
//! - [`security`]: TLS on the client port (certificate reloaded on change) and
//!   authentication with per-resource authorization, which `http::auth` asks
//!   before any handler runs.
//! - [`broker`]: the broker's parts, independent of HTTP: the catalog of
//!   topics and subscriptions, publishing, delivery, consumer groups, cluster
//!   operations and periodic upkeep (its module doc has the map).
//! - [`metadata_store`]: the one `propose` interface every metadata change goes through.
//! - [`push`]: push subscriptions: a supervisor keeps one dispatcher per push
//!   subscription, which POSTs each message to the endpoint and acks or nacks it.
//! - [`storage`]: the [`storage::MessageLog`] and [`storage::SubscriptionState`] traits,
//!   the delivery cursor both backends run, the in-memory and Redis backends, and
//!   the conformance suite every backend passes.
//! - [`telemetry`]: metric definitions and log set-up.
//! - [`overload`]: the memory bound and its alarm, shared by the parts that
//!   hold memory for clients (see also `docs/overload.md`).
//! - [`clock`]: the broker's notion of now (follows tokio's clock, so tests can pause it).
//! - [`instance`]: one cluster node started from its config: consensus, routed
//!   storage, client API and background tasks (what `pubsubgo-server` runs).
//! - `test_breaks` (only with the `test-breaks` feature, for the chaos
//!   harness): switches that break one guarantee each.
//! - [`routing`]: cluster routing: partition owners from the metadata, routed
//!   storage (each partition's calls run on its owner, over the peer port, with
//!   the call's client, server and encoding side by side), each node's storage
//!   kept in step with the metadata, and node liveness.
//!
//! # The path of a publish
//! `http::router` → `http::topics::post` (decompress, decode JSON) →
//! `broker::publish::Publisher::publish` (find the topic, `publish/validate.rs`,
//! the idempotency key in `publish/dedup.rs`) → `Publisher::append_placed`
//! (choose partitions) → `storage::MessageLog::append_with` → in a cluster,
//! `routing::RoutedStorage` runs it on the partition's owner (here, or
//! `routing::StorageClient` → the owner's `routing::routes`), which writes it at
//! its owner epoch with `storage::FencedLog::append_fenced` (memory, or one Lua
//! script on Redis) → waiting pulls and streams are woken (`broker::wakers`).
//!
//! # The path of a delivery
//! `http::subscriptions::post` (`:pull`) or `http::stream` →
//! `broker::delivery::Delivery::pull` → `Delivery::lease_batch` (the partitions
//! from `broker::groups::scope`, gathered by `delivery/lease.rs`) →
//! `storage::SubscriptionState::lease` (the shared cursor; on Redis an
//! at-least-once lease stays in the owner's memory until the next call that
//! writes the cursor, other modes' are written through before the call
//! returns) → an ack id per message
//! (`broker::ack_id`); acks come back through `http::subscriptions::post`
//! (`:acknowledge`) → `Delivery::acknowledge` (`delivery/acks.rs`) →
//! `SubscriptionState::ack`. A push subscription is served by
//! `push::Dispatcher` instead, which calls the same `lease_batch`, POSTs each
//! message (`push::Sender`) and acks or nacks it. On a partitioned
//! subscription `lease_batch` asks `broker::groups::scope` which of the
//! partitions the pulling member owns in the current generation.

pub mod broker;
pub mod clock;
pub mod config;
pub mod grpc;
pub mod http;
pub mod instance;
pub mod metadata_store;
pub mod overload;
pub mod push;
pub mod routing;
pub mod security;
pub mod server;
pub mod storage;
pub mod telemetry;
#[cfg(feature = "test-breaks")]
pub mod test_breaks;
mod test_node;

pub use test_node::TestNode;

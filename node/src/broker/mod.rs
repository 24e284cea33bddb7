//! The broker's operations, independent of HTTP, in parts that each own their
//! work and are called directly by the HTTP handlers, streams, push
//! dispatchers and background tasks:
//!
//! | part | folder or file | owns |
//! |---|---|---|
//! | [`Catalog`] | `catalog/` | topics and subscriptions: create, get with stats, delete, list |
//! | [`Publisher`] | `publish/` | the publish path: validation, idempotency keys, partition choice, appends, pipelined publishes |
//! | [`Delivery`] | `delivery/` | the delivery path: targets, leases, long polls, ack/nack/modifyAckDeadline, seek, dead letters, redrive, parked ordering keys |
//! | [`ConsumerGroups`] | `groups/` | consumer groups of partitioned subscriptions: join, heartbeat, leave, expiry, member ids, member targets, delivery scopes |
//! | [`ClusterAdmin`] | `cluster_admin.rs` | rebalancing partition owners and removing a node |
//! | [`Upkeep`] | `upkeep.rs` | periodic work: retention, expired leases, lag gauges, expired idempotency keys, retried removal of deleted resources' storage |
//! | [`Readiness`] | `readiness.rs` | whether the broker can serve now (`/readyz`) |
//!
//! What the parts share is passed in when [`Broker::new`] builds them:
//! [`MetadataView`] (lookups in the metadata, the "fresh" rule, owner
//! epochs), [`TopicWakers`] (wake-ups between publishers and waiters) and
//! [`RoundRobin`] (the partition turn of unkeyed publishes). [`ack_id`],
//! `convert` (wire types ↔ metadata model) and [`error`] support them all.
//!
//! No two files import each other. Inside the broker a type is imported from
//! the file that defines it, never through a `mod.rs` re-export, and a
//! `mod.rs` that defines a part never imports the files that add `impl`
//! blocks to it (those import it). The parts call each other one way only:
//! groups → delivery → publish.

pub mod ack_id;
pub mod catalog;
pub mod cluster_admin;
mod convert;
pub mod delivery;
pub mod error;
pub mod groups;
pub mod metadata_view;
pub mod publish;
pub mod readiness;
pub mod round_robin;
pub mod upkeep;
pub mod wakers;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use self::catalog::Catalog;
pub use self::cluster_admin::ClusterAdmin;
pub use self::delivery::Delivery;
use self::delivery::dead_letters::DeadLetters;
pub use self::error::BrokerError;
pub use self::groups::ConsumerGroups;
pub use self::metadata_view::MetadataView;
pub use self::publish::Publisher;
use self::publish::dedup::{IdempotencyCache, MAX_IDEMPOTENCY_CACHE_BYTES};
pub use self::readiness::Readiness;
use self::round_robin::RoundRobin;
pub use self::upkeep::Upkeep;
use self::wakers::TopicWakers;
use crate::clock::Clock;
use crate::metadata_store::MetadataStore;
use crate::overload::Overload;
use crate::storage::Storage;
use crate::telemetry::Metrics;

/// The parts of one broker, built together over one metadata store and one
/// storage. Cheap to clone. It only holds the parts: callers reach for the
/// one they need (`broker.delivery.pull(…)`).
#[derive(Debug, Clone)]
pub struct Broker {
    pub metadata: MetadataView,
    pub catalog: Arc<Catalog>,
    pub publisher: Arc<Publisher>,
    pub delivery: Arc<Delivery>,
    pub groups: Arc<ConsumerGroups>,
    pub cluster: Arc<ClusterAdmin>,
    pub upkeep: Arc<Upkeep>,
    pub readiness: Arc<Readiness>,
    pub metrics: Arc<Metrics>,
    /// The memory budget and stream write timeout every part shares.
    pub overload: Overload,
    pub clock: Clock,
    /// Cancelled to shut the broker down: long polls end, streams close,
    /// background tasks stop.
    pub shutdown: CancellationToken,
}

impl Broker {
    pub fn new(
        metadata: MetadataStore,
        storage: Arc<dyn Storage>,
        metrics: Arc<Metrics>,
        clock: Clock,
        shutdown: CancellationToken,
        overload: Overload,
    ) -> Self {
        let wakers = Arc::new(TopicWakers::default());
        Self::with_wakers(
            metadata, storage, metrics, clock, shutdown, overload, wakers,
        )
    }

    /// [`Broker::new`] sharing `wakers` with the peer port, which wakes them
    /// for calls forwarded from other nodes and answers their watches.
    pub fn with_wakers(
        metadata: MetadataStore,
        storage: Arc<dyn Storage>,
        metrics: Arc<Metrics>,
        clock: Clock,
        shutdown: CancellationToken,
        overload: Overload,
        wakers: Arc<TopicWakers>,
    ) -> Self {
        let metadata = MetadataView::new(metadata);
        let round_robin = Arc::new(RoundRobin::default());
        let catalog = Arc::new(Catalog::new(
            metadata.clone(),
            storage.clone(),
            clock,
            metrics.clone(),
            wakers.clone(),
        ));
        let publisher = Arc::new(Publisher::new(
            metadata.clone(),
            storage.clone(),
            clock,
            metrics.clone(),
            round_robin,
            wakers.clone(),
            IdempotencyCache::new(
                MAX_IDEMPOTENCY_CACHE_BYTES,
                metrics.clone(),
                overload.memory.clone(),
            ),
            overload.memory.clone(),
        ));
        let dead_letters = DeadLetters::new(
            metadata.clone(),
            publisher.clone(),
            storage.clone(),
            metrics.clone(),
        );
        let delivery = Arc::new(Delivery::new(
            metadata.clone(),
            storage.clone(),
            clock,
            metrics.clone(),
            wakers.clone(),
            dead_letters,
            shutdown.clone(),
        ));
        let groups = Arc::new(ConsumerGroups::new(
            metadata.clone(),
            clock,
            wakers,
            delivery.clone(),
        ));
        let upkeep = Arc::new(Upkeep::new(
            metadata.clone(),
            storage.clone(),
            clock,
            metrics.clone(),
            delivery.clone(),
            publisher.clone(),
            overload.memory.clone(),
            catalog.leftovers().clone(),
        ));
        Self {
            cluster: Arc::new(ClusterAdmin::new(metadata.clone())),
            readiness: Arc::new(Readiness::new(metadata.clone(), storage, shutdown.clone())),
            metadata,
            catalog,
            publisher,
            delivery,
            groups,
            upkeep,
            metrics,
            overload,
            clock,
            shutdown,
        }
    }
}

//! Every metric PubSubGo exports, in Prometheus text format at `/metrics` on the
//! metrics port. Names are in base units and share the `pubsubgo_` prefix.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_messages_published_total` | counter | messages stored by publishes (replayed duplicates not counted) |
//! | `pubsubgo_messages_consumed_total` | counter | messages acknowledged by a subscriber (each message once per subscription) |
//! | `pubsubgo_messages_delivered_total` | counter | deliveries to subscribers, redeliveries included |
//! | `pubsubgo_messages_redelivered_total` | counter | deliveries with attempt > 1 |
//! | `pubsubgo_message_latency_seconds` | histogram | publish time to first delivery, per message and subscription |
//! | `pubsubgo_active_connections_total` | gauge, `transport` = `http` or `websocket` | open client connections |
//! | `pubsubgo_errors_total` | counter, `code` | error responses by API error code |
//! | `pubsubgo_topic_messages_total` | counter, `topic` | messages stored, per topic |
//! | `pubsubgo_messages_expired_total` | counter | messages never delivered because their TTL passed |
//! | `pubsubgo_messages_dead_lettered_total` | counter | messages moved out of delivery after their last attempt |
//! | `pubsubgo_dead_letter_publish_failures_total` | counter | failed tries to copy a dead letter to the dead-letter topic (it stays in the outbox and is retried) |
//! | `pubsubgo_subscription_backlog_messages` | gauge, `subscription` | unacknowledged messages (refreshed every 5 s) |
//! | `pubsubgo_subscription_oldest_unacked_age_seconds` | gauge, `subscription` | age of the oldest unacknowledged message (refreshed every 5 s) |
//! | `pubsubgo_idempotency_cache_entries` | gauge | idempotency keys held in this process's cache (in progress and completed) |
//! | `pubsubgo_idempotency_cache_bytes` | gauge | estimated bytes the idempotency cache holds; at most 256 MiB (`broker::publish::dedup`) |
//! | `pubsubgo_idempotency_cache_evictions_total` | counter | completed idempotency keys dropped before their dedup window ended, to stay within the bound; retries of them are answered by storage |
//! | `pubsubgo_idempotency_cache_refusals_total` | counter | keyed publishes refused (429) because publishes in progress filled the idempotency cache |
//! | `pubsubgo_push_requests_total` | counter, `outcome` = `success` or `failure` | POSTs to push endpoints: `success` is a 2xx answer (the message is acked); `failure` is any other status, a connection error or a timeout (the message is nacked). Requests abandoned at shutdown or deletion are not counted |
//! | `pubsubgo_raft_term` | gauge | the metadata group's current term as this node sees it |
//! | `pubsubgo_raft_leader` | gauge | id of the leader this node knows, -1 when none |
//! | `pubsubgo_raft_commit_index` | gauge | last committed metadata log index |
//! | `pubsubgo_raft_apply_lag` | gauge | committed but not yet applied metadata entries |
//! | `pubsubgo_partitions_owned` | gauge | partitions this node owns |
//! | `pubsubgo_partition_owner_changes_total` | counter | partitions this node gained or lost |
//!
//! The memory bound's, refused publishes' and slow consumers' metrics are
//! listed in [`super::overload`]; trace export's in [`super::trace_metrics`];
//! WebSocket sessions and frames in [`super::websocket_metrics`];
//! the client API's requests in [`super::http_metrics`]; Redis round trips in
//! [`super::redis_metrics`]; calls between nodes and metadata sync in
//! [`super::routing_metrics`]; the rest of Raft's in [`super::raft_metrics`];
//! the process's own (`process_*`) in [`super::process`].
//!
//! The Raft and ownership gauges are refreshed every second or so (see
//! `crate::routing::liveness`).
//!
//! The seed names end in `_total` even for the gauge; they are kept for
//! dashboard compatibility.

use api::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use super::http_metrics::HttpMetrics;
use super::overload::OverloadMetrics;
use super::process::ProcessCollector;
use super::raft_metrics::RaftMetrics;
use super::redis_metrics::RedisMetrics;
use super::routing_metrics::RoutingMetrics;
use super::trace_metrics::TraceMetrics;
use super::websocket_metrics::WebSocketMetrics;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabel {
    pub transport: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubscriptionLabel {
    pub subscription: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
    pub topic: String,
}

/// How a push request ended: [`PUSH_SUCCESS`] or [`PUSH_FAILURE`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

/// `outcome` of a push request answered with a 2xx status.
pub const PUSH_SUCCESS: &str = "success";
/// `outcome` of a push request answered otherwise, or not answered in time.
pub const PUSH_FAILURE: &str = "failure";

/// The broker's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub published: Counter,
    pub consumed: Counter,
    pub delivered: Counter,
    pub redelivered: Counter,
    pub latency: Histogram,
    pub active_connections: Family<TransportLabel, Gauge>,
    /// Written only by [`Metrics::count_error`], which the one problem path
    /// (`crate::http::problem`) calls once per error response or frame.
    errors: Family<CodeLabel, Counter>,
    pub topic_messages: Family<TopicLabel, Counter>,
    pub expired: Counter,
    pub dead_lettered: Counter,
    pub dead_letter_failures: Counter,
    pub backlog: Family<SubscriptionLabel, Gauge>,
    pub oldest_unacked_age: Family<SubscriptionLabel, Gauge<f64, AtomicU64>>,
    pub push_requests: Family<OutcomeLabel, Counter>,
    pub idempotency_entries: Gauge,
    pub idempotency_bytes: Gauge,
    pub idempotency_evictions: Counter,
    pub idempotency_refusals: Counter,
    pub raft_term: Gauge,
    pub raft_leader: Gauge,
    pub raft_commit_index: Gauge,
    pub raft_apply_lag: Gauge,
    pub partitions_owned: Gauge,
    pub partition_owner_changes: Counter,
    pub overload: OverloadMetrics,
    pub traces: TraceMetrics,
    pub websocket: WebSocketMetrics,
    pub http: HttpMetrics,
    pub redis: RedisMetrics,
    pub routing: RoutingMetrics,
    pub raft: RaftMetrics,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let published = Counter::default();
        let consumed = Counter::default();
        let delivered = Counter::default();
        let redelivered = Counter::default();
        // 1 ms to ~65 s.
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 17));
        let active_connections = Family::<TransportLabel, Gauge>::default();
        let errors = Family::<CodeLabel, Counter>::default();
        let topic_messages = Family::<TopicLabel, Counter>::default();
        let expired = Counter::default();
        let dead_lettered = Counter::default();
        let dead_letter_failures = Counter::default();
        let backlog = Family::<SubscriptionLabel, Gauge>::default();
        let oldest_unacked_age = Family::<SubscriptionLabel, Gauge<f64, AtomicU64>>::default();
        let push_requests = Family::<OutcomeLabel, Counter>::default();
        for outcome in [PUSH_SUCCESS, PUSH_FAILURE] {
            push_requests
                .get_or_create(&OutcomeLabel { outcome })
                .inc_by(0);
        }
        let idempotency_entries = Gauge::default();
        let idempotency_bytes = Gauge::default();
        let idempotency_evictions = Counter::default();
        let idempotency_refusals = Counter::default();
        // prometheus-client appends `_total` to counter names.
        registry.register(
            "pubsubgo_messages_published",
            "Messages stored by publishes",
            published.clone(),
        );
        registry.register(
            "pubsubgo_messages_consumed",
            "Messages acknowledged by subscribers",
            consumed.clone(),
        );
        registry.register(
            "pubsubgo_messages_delivered",
            "Deliveries to subscribers, redeliveries included",
            delivered.clone(),
        );
        registry.register(
            "pubsubgo_messages_redelivered",
            "Deliveries with attempt greater than 1",
            redelivered.clone(),
        );
        registry.register(
            "pubsubgo_message_latency_seconds",
            "Time from publish to first delivery",
            latency.clone(),
        );
        registry.register(
            "pubsubgo_active_connections_total",
            "Open client connections by transport",
            active_connections.clone(),
        );
        registry.register(
            "pubsubgo_errors",
            "Error responses by API error code",
            errors.clone(),
        );
        registry.register(
            "pubsubgo_topic_messages",
            "Messages stored, per topic",
            topic_messages.clone(),
        );
        registry.register(
            "pubsubgo_messages_expired",
            "Messages never delivered because their TTL passed",
            expired.clone(),
        );
        registry.register(
            "pubsubgo_messages_dead_lettered",
            "Messages moved out of delivery after their last attempt",
            dead_lettered.clone(),
        );
        registry.register(
            "pubsubgo_dead_letter_publish_failures",
            "Tries to copy a dead letter to the dead-letter topic that failed (the copy stays in the outbox and is retried)",
            dead_letter_failures.clone(),
        );
        registry.register(
            "pubsubgo_subscription_backlog_messages",
            "Unacknowledged messages per subscription",
            backlog.clone(),
        );
        registry.register(
            "pubsubgo_subscription_oldest_unacked_age_seconds",
            "Age of the oldest unacknowledged message per subscription",
            oldest_unacked_age.clone(),
        );
        registry.register(
            "pubsubgo_push_requests",
            "Requests to push endpoints by outcome",
            push_requests.clone(),
        );
        registry.register(
            "pubsubgo_idempotency_cache_entries",
            "Idempotency keys held in the in-memory cache",
            idempotency_entries.clone(),
        );
        registry.register(
            "pubsubgo_idempotency_cache_bytes",
            "Estimated bytes held by the in-memory idempotency cache",
            idempotency_bytes.clone(),
        );
        registry.register(
            "pubsubgo_idempotency_cache_evictions",
            "Completed idempotency keys evicted before their dedup window ended",
            idempotency_evictions.clone(),
        );
        registry.register(
            "pubsubgo_idempotency_cache_refusals",
            "Keyed publishes refused because in-progress publishes filled the idempotency cache",
            idempotency_refusals.clone(),
        );
        let raft_term = Gauge::default();
        let raft_leader = Gauge::default();
        raft_leader.set(-1);
        let raft_commit_index = Gauge::default();
        let raft_apply_lag = Gauge::default();
        let partitions_owned = Gauge::default();
        let partition_owner_changes = Counter::default();
        for (name, help, gauge) in [
            (
                "pubsubgo_raft_term",
                "Current term of the metadata group",
                &raft_term,
            ),
            (
                "pubsubgo_raft_leader",
                "Id of the known metadata leader, -1 when none",
                &raft_leader,
            ),
            (
                "pubsubgo_raft_commit_index",
                "Last committed metadata log index",
                &raft_commit_index,
            ),
            (
                "pubsubgo_raft_apply_lag",
                "Committed metadata entries not yet applied",
                &raft_apply_lag,
            ),
            (
                "pubsubgo_partitions_owned",
                "Partitions this node owns",
                &partitions_owned,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        registry.register(
            "pubsubgo_partition_owner_changes",
            "Partitions this node gained or lost",
            partition_owner_changes.clone(),
        );
        let overload = OverloadMetrics::register(&mut registry);
        let traces = TraceMetrics::register(&mut registry);
        let websocket = WebSocketMetrics::register(&mut registry);
        let http = HttpMetrics::register(&mut registry);
        let redis = RedisMetrics::register(&mut registry);
        let routing = RoutingMetrics::register(&mut registry);
        let raft = RaftMetrics::register(&mut registry);
        registry.register_collector(Box::new(ProcessCollector));
        Self {
            raft,
            redis,
            routing,
            http,
            overload,
            traces,
            websocket,
            registry,
            raft_term,
            raft_leader,
            raft_commit_index,
            raft_apply_lag,
            partitions_owned,
            partition_owner_changes,
            published,
            consumed,
            delivered,
            redelivered,
            latency,
            active_connections,
            errors,
            topic_messages,
            expired,
            dead_lettered,
            dead_letter_failures,
            backlog,
            oldest_unacked_age,
            push_requests,
            idempotency_entries,
            idempotency_bytes,
            idempotency_evictions,
            idempotency_refusals,
        }
    }

    /// Sets a subscription's lag gauges.
    pub fn record_lag(&self, subscription: &str, backlog: u64, oldest_age_seconds: f64) {
        let label = SubscriptionLabel {
            subscription: subscription.to_owned(),
        };
        self.backlog
            .get_or_create(&label)
            .set(i64::try_from(backlog).unwrap_or(i64::MAX));
        self.oldest_unacked_age
            .get_or_create(&label)
            .set(oldest_age_seconds);
    }

    /// Drops a deleted subscription's gauges.
    pub fn forget_subscription(&self, subscription: &str) {
        let label = SubscriptionLabel {
            subscription: subscription.to_owned(),
        };
        self.backlog.remove(&label);
        self.oldest_unacked_age.remove(&label);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry)
            .unwrap_or_else(|e| unreachable!("writing to a String cannot fail: {e}"));
        text
    }

    /// Counts one error sent to a client, by its code.
    pub fn count_error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&CodeLabel {
                code: code.to_string(),
            })
            .inc();
    }

    /// Counts one finished push request; `outcome` is [`PUSH_SUCCESS`] or [`PUSH_FAILURE`].
    pub fn push_request(&self, outcome: &'static str) {
        self.push_requests
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub fn connections(&self, transport: &'static str) -> Gauge {
        self.active_connections
            .get_or_create(&TransportLabel { transport })
            .clone()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

//! Leasing messages to consumers and settling the leases: what a lease asks
//! for and hands out, and what acks and nacks carry.

use std::sync::Arc;

use cluster::subscription::{DeliveryMode, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::{DeadLetter, StoredMessage};

/// One delivery in this many ignores priority and takes the oldest deliverable
/// message, so a stream of high-priority messages cannot starve the rest.
pub const FAIRNESS_PERIOD: u64 = 4;

/// How many deliverable messages a lease considers when ordering by priority.
pub const PRIORITY_WINDOW: usize = 1000;

/// The subscription settings that shape delivery, passed with each call so
/// storage never needs the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryPolicy {
    /// Deliver one message per ordering key at a time, in offset order.
    pub ordered: bool,
    /// Wait before redelivery; `None` redelivers at once.
    pub retry: Option<RetryPolicy>,
    /// Dead-letter a message whose delivery number `max_attempts` failed.
    pub max_attempts: Option<u32>,
    pub mode: DeliveryMode,
}

/// What a lease request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRequest {
    /// 0 only processes expired leases (and reports dead letters).
    pub max_messages: usize,
    pub now_millis: u64,
    /// When the new leases expire.
    pub deadline_millis: u64,
    pub policy: DeliveryPolicy,
}

/// What a lease call did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LeaseOutcome {
    pub leased: Vec<Leased>,
    /// Messages skipped because their TTL passed.
    pub expired: u64,
    /// Messages that exceeded their attempts while this call processed expiries.
    pub dead_lettered: Vec<DeadLetter>,
}

/// One leased message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leased {
    pub message: Arc<StoredMessage>,
    /// 1 on first delivery.
    pub attempt: u32,
}

/// Identifies one delivery of one message: the ack id's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRef {
    pub offset: u64,
    pub attempt: u32,
}

/// What an ack call did.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckOutcome {
    pub newly_acked: u64,
    /// Exactly-once only: deliveries whose lease was not current; not acked.
    pub stale: Vec<DeliveryRef>,
}

/// A negative acknowledgement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nack {
    /// Wait this long before redelivery instead of the retry policy's backoff.
    pub delay_millis: Option<u64>,
    /// Why the client gave up; kept for the dead-letter lineage.
    pub reason: Option<String>,
}

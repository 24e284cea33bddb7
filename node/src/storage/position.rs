//! Where a subscription stands in one partition: how far behind it is, and
//! where a seek moves it.

use serde::{Deserialize, Serialize};

/// How far a subscription is behind in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Backlog {
    /// Retained messages not yet acknowledged (dead letters and expired excluded).
    pub unacked: u64,
    /// Messages leased right now.
    pub outstanding: u64,
    /// Publish time of the oldest unacknowledged message.
    pub oldest_unacked_publish_millis: Option<u64>,
    /// Messages never delivered because their TTL passed (since creation or seek).
    pub expired: u64,
    /// Messages currently dead-lettered (redrivable).
    pub dead_lettered: u64,
}

/// Where a seek moves a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeekTarget {
    Earliest,
    Latest,
    /// The first message published at or after this time.
    Time(u64),
}

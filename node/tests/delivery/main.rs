//! Delivery over HTTP: competing pullers on a real server, and leases,
//! retries and delivery semantics against the real router with paused time.
//!
//! - [`pullers`]: two competing pullers get every message once, in key order.
//! - [`leases`]: ack deadlines, nacks, `modifyAckDeadline` and long polls.
//! - [`retries`]: the backoff schedule, dead letters and redrive, parked keys.
//! - [`scheduling`]: priority, delay, TTL, delivery modes, seek and lag, and
//!   times outside the calendar.

mod leases;
mod pullers;
mod retries;
mod scheduling;

use serde_json::{Value, json};
use testkit::router::App;

/// Pulls up to `max` messages, waiting up to `wait` seconds for the first.
async fn pull(app: &App, sub: &str, max: u32, wait: u32) -> Vec<Value> {
    app.pull(sub, json!({"maxMessages": max, "waitSeconds": wait}))
        .await
}

/// A received message's ack id, as the JSON value the ack calls take.
fn ack_id(received: &Value) -> Value {
    received["ackId"].clone()
}

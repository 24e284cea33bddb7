//! Push delivery: the broker POSTs each message of a push subscription to the
//! subscription's endpoint. The wire contract (body, signature header) is
//! `api::push`.
//!
//! # Design
//! - [`Supervisor`], one per server, started by `server::run`: keeps exactly one
//!   [`Dispatcher`] per push subscription. It is not told about creates and
//!   deletes; it *reconciles*. Every applied metadata command bumps a version
//!   (`MetadataStore::changes`, a `tokio::sync::watch`); on each bump the
//!   supervisor lists the push subscriptions, stops the dispatchers whose
//!   subscription is gone or different (deleted, or deleted and created again),
//!   and starts the missing ones. A watch keeps only the latest version, so a
//!   burst of changes costs one pass and none is missed; the write paths stay
//!   unaware of push, and the same loop follows Raft-applied changes later.
//! - [`Dispatcher`], one per push subscription: leases with
//!   `Delivery::lease_batch`, the same leases, ack ids, deadlines and delivery
//!   attempts as pull, at most `maxOutstanding` messages at a time (a
//!   semaphore permit is held from lease to ack/nack), and spawns one request
//!   per message. When nothing is deliverable it waits for the topic's wake-up
//!   (publish, nack) or `Delivery::wait_for_work` (lease expiry).
//! - [`Sender`]: one POST with the ack deadline as timeout (capped at
//!   [`sender::MAX_REQUEST_TIMEOUT`]), no redirects followed, and the
//!   `X-PubSubGo-Signature` HMAC when the subscription has a secret. 2xx →
//!   `Delivery::acknowledge`; anything else → `Delivery::nack` with the
//!   failure as reason. When to retry is the broker's business (its retry policy), not
//!   the dispatcher's: a nacked message is simply leased again when the broker
//!   makes it deliverable.
//!
//! # Stopping
//! Each dispatcher runs under a child of the broker's shutdown token. The
//! supervisor cancels it when its subscription disappears and waits for it
//! before starting a successor; shutdown cancels them all at once and
//! `server::run` waits for the supervisor within the grace period. A cancelled
//! dispatcher abandons its in-flight requests (the endpoint may or may not
//! have received them: delivery is at-least-once) and nacks their messages.
//!
//! Pulls and streams on a push subscription are refused (`INVALID_ARGUMENT`):
//! they would compete with the endpoint for the same messages.

mod dispatcher;
pub mod sender;
mod supervisor;

pub use dispatcher::Dispatcher;
pub use sender::Sender;
pub use supervisor::Supervisor;

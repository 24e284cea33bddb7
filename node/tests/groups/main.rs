//! Consumer groups over HTTP and WebSocket: join, heartbeat, leave, session
//! expiry with sticky rebalancing, generations on delivered messages, and the
//! `UNKNOWN_MEMBER` error for members that are gone.
//!
//! - [`members`]: the group as the tests drive it, and the ledger of who got what.
//! - [`rebalance`]: silent and departing members, and who takes their partitions.
//! - [`validation`]: the requests a group refuses, with their codes.
//! - [`streaming`]: a member's `:stream` follows its assignment.

mod members;
mod rebalance;
mod streaming;
mod validation;

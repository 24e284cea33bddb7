//! One file per peer, each with its own Rust client, set up as issue 7 asks:
//! - [`redis_streams`]: XADD (pipelined on a multiplexed connection), XREADGROUP, XACK;
//! - [`jetstream`]: NATS JetStream, file storage, one replica, explicit-ack pull consumer;
//! - [`rabbitmq`]: a quorum queue, publisher confirms, manual acks, prefetch = window.

pub mod jetstream;
pub mod rabbitmq;
pub mod redis_streams;

/// A name no earlier or concurrent run uses.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{prefix}{}{nanos:x}", std::process::id())
}

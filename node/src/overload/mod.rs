//! Overload protection: what the node does when clients send or hold more
//! than it can keep.
//!
//! - [`budget`]: [`MemoryBudget`], the node's accounted memory against its
//!   bound, and the memory alarm that refuses publishes between its watermarks.
//! - [`machine`]: the container's or machine's memory, from which the default
//!   bound is derived.
//!
//! The other protections live where the memory is held: topic size bounds
//! and their discard policies in storage (`AppendOptions::retention`),
//! storage that is full (`StorageError::Full`, `507`), the write timeout of
//! WebSocket streams (`http::stream`), and the `maxOutstanding` bound of push
//! dispatchers (`push::dispatcher`). `docs/overload.md` tells them together.

pub mod budget;
pub mod machine;

use std::sync::Arc;
use std::time::Duration;

pub use self::budget::{MemoryAlarm, MemoryBudget, MemoryHold, MemoryLimits, MemoryUse};
pub use self::machine::machine_memory_bytes;

/// How long a stream waits for a client to take one frame before closing it
/// as a slow consumer (NATS's `write_deadline` is 10 s too).
pub const DEFAULT_STREAM_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a broker's parts share to protect the node: the memory budget and
/// how long a stream may wait on a client.
#[derive(Debug, Clone)]
pub struct Overload {
    pub memory: Arc<MemoryBudget>,
    /// A stream whose client takes no frame for this long is closed.
    pub stream_write_timeout: Duration,
}

impl Overload {
    /// No memory bound; the default stream write timeout.
    pub fn unbounded() -> Self {
        Self {
            memory: MemoryBudget::unbounded(),
            stream_write_timeout: DEFAULT_STREAM_WRITE_TIMEOUT,
        }
    }
}

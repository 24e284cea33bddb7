//! Routed storage: a node that owns no partition runs every storage call on
//! the owner over the peer port, and behaves like any backend (the
//! conformance suite); an owner that moved is found after one refresh; a
//! transport failure says honestly whether the call ran.
//!
//! - [`placement`]: owner nodes on loopback ports and a placement set by hand.
//! - [`mirror`]: the calling node's backend, which owns nothing.
//! - [`owners`]: moved owners, epochs, local calls, new subscriptions.
//! - [`transport`]: unreachable and silent owners, a full batch in one call.
//! - [`in_flight`]: the peer port's cap on calls in flight per caller.
//! - [`wakeups`]: a pull on a node that owns nothing is woken by the owner
//!   (three `pubsubgo-server` processes), with a bounded number of calls.

mod in_flight;
mod mirror;
mod owners;
mod placement;
mod transport;
mod wakeups;

use cluster::TopicName;
use node::storage::{NewMessage, PartitionRef};

mod conformance {
    // Appends write with the owner's epoch and take none from the caller, so
    // the check that fences by the caller's epoch is replaced by
    // `the_owner_writes_with_its_own_epoch…` in `owners`.
    node::storage::conformance::suite!(owner_epoch, async crate::placement::remote_only());
}

/// Partition `partition` of topic `orders`.
fn orders(partition: u32) -> PartitionRef {
    PartitionRef {
        topic: TopicName::new("orders").expect("valid name"),
        partition,
    }
}

fn message(data: &str) -> NewMessage {
    testkit::storage::message(data.to_owned(), 1_700_000_000_000)
}

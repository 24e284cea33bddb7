//! The `Publisher` and `Subscriber` server traits and routers that
//! tonic-build generates at build time (see `node/build.rs`).
#![allow(
    missing_debug_implementations,
    clippy::all,
    reason = "generated code, not ours to lint"
)]

/// `google.protobuf.Empty`, as prost writes it.
pub type Empty = ();

include!(concat!(env!("OUT_DIR"), "/google.pubsub.v1.Publisher.rs"));
include!(concat!(env!("OUT_DIR"), "/google.pubsub.v1.Subscriber.rs"));

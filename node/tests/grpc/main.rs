//! Google Pub/Sub's gRPC API (`node::grpc`), through clients that nobody here
//! wrote.
//!
//! - [`google_server`]: a broker serving the gRPC API on an ephemeral port,
//!   and clients for it (the `googleapis-tonic-google-pubsub-v1` crate's).
//! - [`admin`]: topics and subscriptions: every admin RPC, names, refused fields.
//! - [`delivery`]: publish, pull, acks, deadlines, seek, exactly-once errors.
//! - [`streaming`]: StreamingPull flow control, credit freed by unary acks,
//!   acks on the stream confirmed under exactly-once,
//!   the end of a stream on shutdown.
//! - [`unimplemented`]: the RPCs PubSubGo does not serve.
//! - [`python_client`]: Google's official Python client, unchanged, against a
//!   real `pubsubgo-server` process (`google_client.py`).

mod admin;
mod delivery;
mod google_server;
mod python_client;
mod streaming;
mod unimplemented;

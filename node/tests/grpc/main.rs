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
//! - [`owner_moves`]: a stream through a node of a cluster that does not own
//!   the partition, ended with `UNAVAILABLE` when the owner changes.
//! - [`secured`]: API keys, the policy, rate limits and TLS on the gRPC port.
//! - [`python_client`]: Google's official Python client, unchanged, against a
//!   real `pubsubgo-server` process (`google_client.py`); [`python_cluster`]:
//!   the same script against a 3-node cluster, through a node that owns none
//!   of the partitions; [`python_secured`]: the client over TLS with an API
//!   key as its token (`google_client_secured.py`).

mod admin;
mod delivery;
mod google_server;
mod owner_moves;
mod python_client;
mod python_cluster;
mod python_secured;
mod secured;
mod streaming;
mod unimplemented;

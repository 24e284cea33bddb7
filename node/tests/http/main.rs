//! The HTTP and WebSocket API: the real router driven in-process
//! (`testkit::router`) and real servers on loopback ports (`node::TestNode`).
//!
//! - [`bad_requests`]: every kind of bad request gets problem+json and stores nothing.
//! - [`resources`]: topics in pages, stats, idempotency keys, compressed bodies,
//!   health and the API description.
//! - [`openapi_contract`]: methods, `Allow` and verbs, bodies, ack levels and
//!   the Idempotency-Key as the OpenAPI document says.
//! - [`stream`]: `:stream` delivery, credit, acks over the socket, shutdown,
//!   malformed JSON answered and counted alike everywhere.
//! - [`publish_stream`]: `:publishStream` pipelining and binary `:stream` frames.
//! - [`push`]: push subscriptions against a real endpoint.
//! - [`cluster_api`]: cluster status, `:rebalance` and removing nodes.
//! - [`overload`]: full partitions and the memory alarm answer 429.
//! - [`console`]: the web console's assets under `/ui` and their policy (the
//!   console in a browser is tested in `tests/console`).

mod bad_requests;
mod cluster_api;
mod console;
mod openapi_contract;
mod overload;
mod publish_stream;
mod push;
mod resources;
mod stream;

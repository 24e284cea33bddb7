//! The `pubsubgo-server` binary as a user runs it: settings from flags and
//! environment, serving until SIGTERM, then a clean exit; restarts on the same
//! data directory, and on Redis, surviving a `kill -9`.
//!
//! - [`process`]: the binary started as these tests start it (a child process
//!   of `testkit::server_process`).
//! - [`settings`]: flags, environment and the errors of bad settings.
//! - [`restarts`]: what survives a clean restart and a `kill -9`.
//! - [`dead_letter_outbox`]: a dead letter's pending copy survives a `kill -9`.
//! - [`http_versions`]: HTTP/1.1 and HTTP/2 on the client port.
//! - [`memory_bound`]: the memory alarm of a process with a small bound.
//! - [`slow_consumer`]: a stream whose client stops reading.
//! - [`traces`]: spans of a three-node cluster in one trace, exported to a receiver in the test.

mod dead_letter_outbox;
mod http_versions;
mod memory_bound;
mod process;
mod restarts;
mod settings;
mod slow_consumer;
mod traces;

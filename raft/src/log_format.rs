//! What the Raft log and snapshots hold in each format version, and how a
//! value an older release wrote becomes today's.
//!
//! Log entries (holding [`cluster::Command`]s) and snapshots (a
//! [`cluster::Metadata`]) outlive the release that wrote them: a data dir is
//! opened by the next release, and during a rolling upgrade peers of two
//! releases replicate to each other. Every value is written with
//! [`versioned_postcard`]'s version byte; this module reads each version it
//! knows.
//!
//! | version | written by | layout |
//! |---|---|---|
//! | 1 | 0.1 | postcard of the `cluster` and openraft types of 0.1 |
//! | 2 | this release | version 1 plus `Command::MovePartitions`, appended (the automatic rebalance's steps) |
//!
//! Version 2 only appended an enum variant, so a version-1 body decodes with
//! today's types unchanged: its migration is the decode itself, and no frozen
//! copy of the 0.1 types is needed. A value is written in the oldest version
//! whose layout holds it (`cluster::wire_format`): everything but a
//! `MovePartitions` command (and a log entry, request or list holding one) is
//! still written as version 1, so peers of 0.1 and of this release replicate
//! to each other during a rolling upgrade. A peer of 0.1 refuses a version-2
//! value by name (it reads no version after 1).
//!
//! Releases before the version byte was checked against a layout (before the
//! retention bounds `maxMessagesPerPartition` and `discard`) also wrote 1 with
//! another `TopicConfig`; their data dirs are not readable, and no such
//! release was published.
//!
//! # Changing a stored type
//! Any change of a type reachable from [`cluster::Command`] or
//! [`cluster::Metadata`] (a field added, a variant inserted, a type changed)
//! changes the layout. The fixture tests (`raft/tests/consensus/format.rs`)
//! fail on such a change until it is done this way:
//! 1. Copy the types as they are before the change into a frozen module
//!    `log_format/v1.rs` (never edited again), with a `From` into today's.
//! 2. Raise [`versioned_postcard::CURRENT`] to the next version.
//! 3. In [`decode_entry`] and [`decode_snapshot`], decode the old versions
//!    with the frozen types and convert (`versioned_postcard::decode_migrating`),
//!    and stop [`versioned_postcard::decode`] reading them as today's.
//! 4. Write the new version's fixture (`cargo test -p pubsubgo-raft --test
//!    consensus write_the_format_fixture -- --ignored`) and keep every older
//!    fixture's test: each must still load.
//!
//! Appending a variant at the end of an enum keeps old bytes readable, but a
//! peer of the older release cannot read the new variant: raise the version
//! for that too, so the older peer refuses it by name, and mark the variant's
//! fields `#[serde(serialize_with = ...)]` with `cluster::wire_format`'s
//! function for the new version, so that only values holding it are written
//! in it.

use std::io;

use cluster::Metadata;

use crate::types::Entry;
use crate::versioned_postcard;

/// Decodes one stored or replicated log entry, of any version this release reads.
pub(crate) fn decode_entry(bytes: &[u8]) -> io::Result<Entry> {
    // Version 1 migrates by decoding as today's (`versioned_postcard::decode`).
    versioned_postcard::decode(bytes)
}

/// Decodes a snapshot's metadata, of any version this release reads.
pub(crate) fn decode_snapshot(bytes: &[u8]) -> io::Result<Metadata> {
    versioned_postcard::decode(bytes)
}

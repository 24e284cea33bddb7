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
//! | 1 | 0.1 (this release) | postcard of today's `cluster` and openraft types |
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
//! 3. In [`decode_entry`] and [`decode_snapshot`], decode the old version with
//!    the frozen types and convert.
//! 4. Write the new version's fixture (`cargo test -p pubsubgo-raft --test
//!    consensus write_the_format_fixture -- --ignored`) and keep every older
//!    fixture's test: each must still load.
//!
//! Appending a variant at the end of an enum keeps old bytes readable, but a
//! peer of the older release cannot read the new variant: raise the version
//! for that too, so the older peer refuses it by name.

use std::io;

use cluster::Metadata;

use crate::types::Entry;
use crate::versioned_postcard::{self, unknown_version};

/// Decodes one stored or replicated log entry, of any version this release reads.
pub(crate) fn decode_entry(bytes: &[u8]) -> io::Result<Entry> {
    versioned_postcard::decode_migrating(bytes, |version, _body| {
        // The first version is the current one: nothing older to migrate yet.
        Err(unknown_version(version))
    })
}

/// Decodes a snapshot's metadata, of any version this release reads.
pub(crate) fn decode_snapshot(bytes: &[u8]) -> io::Result<Metadata> {
    versioned_postcard::decode_migrating(bytes, |version, _body| Err(unknown_version(version)))
}

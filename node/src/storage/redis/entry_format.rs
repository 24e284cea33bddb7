//! Which entry format a node writes, kept in Redis once per key prefix under
//! `<prefix>:format` (a string, `1` or `2`). Every node reads both formats
//! (`field_encoding`), so the key only says what new entries are written in.
//!
//! - A fresh prefix (no key under it yet, found by `SCAN … MATCH` on every
//!   primary, stopping at the first key) gets `2` from the first node that
//!   starts on it.
//! - A prefix written before formats existed (data under it, no key) gets
//!   `1`, today's layout, and keeps it: a node of an older version reading a
//!   format-2 entry fails (`Corrupt`, never a silent misread), so the
//!   operator sets `2` once every node runs a version that reads it
//!   (docs/storage.md, "Entry formats").
//! - Nodes re-read the key every [`FORMAT_POLL`], so the switch needs no
//!   restart. A value this version does not know stops a node from starting,
//!   and a running node keeps the format it had (and logs an error).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::connection::{Access, Connection};
use crate::storage::StorageError;

/// Today's per-field layout.
pub const FORMAT_FIELDS: u8 = 1;
/// The metadata packed in one field (`packed_entry`).
pub const FORMAT_PACKED: u8 = 2;
/// How often a running node re-reads its prefix's format.
pub const FORMAT_POLL: Duration = Duration::from_secs(5);

/// The key holding a prefix's entry format.
pub fn format_key(prefix: &str) -> String {
    format!("{prefix}:format")
}

fn parse(value: &str) -> Option<u8> {
    match value.trim().parse() {
        Ok(v @ (FORMAT_FIELDS | FORMAT_PACKED)) => Some(v),
        _ => None,
    }
}

/// The key's value as stored, `None` when unset.
async fn read_raw(conn: &Connection, prefix: &str) -> Result<Option<String>, StorageError> {
    let key = format_key(prefix);
    conn.call(Access::Read, |mut c| async move {
        redis::cmd("GET").arg(key).query_async(&mut c).await
    })
    .await
}

fn unknown(prefix: &str, value: &str) -> String {
    format!(
        "the Redis entry format of prefix {prefix:?} is {value:?}; this version writes \
         {FORMAT_FIELDS} or {FORMAT_PACKED} (set {} to one of them, or upgrade)",
        format_key(prefix)
    )
}

/// The prefix's format as stored, `None` when unset; an unknown value is an error.
pub(crate) async fn read(conn: &Connection, prefix: &str) -> Result<Option<u8>, StorageError> {
    match read_raw(conn, prefix).await? {
        None => Ok(None),
        Some(v) => parse(&v)
            .map(Some)
            .ok_or_else(|| StorageError::Unavailable {
                reason: unknown(prefix, &v),
            }),
    }
}

/// At start-up: the prefix's format, settled first if unset (see the module).
pub(crate) async fn settle(conn: &Connection, prefix: &str) -> Result<u8, StorageError> {
    if let Some(format) = read(conn, prefix).await? {
        return Ok(format);
    }
    let chosen = if has_data(conn, prefix).await? {
        FORMAT_FIELDS
    } else {
        FORMAT_PACKED
    };
    let key = format_key(prefix);
    conn.call(Access::Write, |mut c| async move {
        redis::cmd("SET")
            .arg(key)
            .arg(chosen)
            .arg("NX")
            .query_async::<()>(&mut c)
            .await
    })
    .await?;
    // Another node may have settled it first: its choice stands.
    let format = read(conn, prefix).await?.unwrap_or(chosen);
    tracing::info!(prefix, format, "Redis entry format settled");
    Ok(format)
}

/// Whether any key lives under `<prefix>:`.
async fn has_data(conn: &Connection, prefix: &str) -> Result<bool, StorageError> {
    conn.any_key_matches(&format!("{}:*", glob_escape(prefix)))
        .await
}

/// `text` matched literally by a Redis glob pattern.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Re-reads the prefix's format every [`FORMAT_POLL`] into `current` while it lives.
#[derive(Debug)]
pub(crate) struct FormatWatch {
    task: JoinHandle<()>,
}

impl Drop for FormatWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FormatWatch {
    pub(crate) fn start(conn: Connection, prefix: String, current: Arc<AtomicU8>) -> Self {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FORMAT_POLL);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                refresh(&conn, &prefix, &current).await;
            }
        });
        Self { task }
    }
}

/// Reads the prefix's format into `current`; keeps the old one on failure.
pub(crate) async fn refresh(conn: &Connection, prefix: &str, current: &AtomicU8) {
    match read_raw(conn, prefix).await {
        Ok(Some(value)) => match parse(&value) {
            Some(format) => {
                let before = current.swap(format, Ordering::Relaxed);
                if before != format {
                    tracing::info!(
                        prefix,
                        from = before,
                        to = format,
                        "Redis entry format changed"
                    );
                }
            }
            None => tracing::error!(
                prefix,
                reason = unknown(prefix, &value),
                "keeping the entry format this node had"
            ),
        },
        Ok(None) => {}
        Err(error) => tracing::debug!(prefix, %error, "could not re-read the entry format"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_formats_parse_and_globs_are_escaped() {
        assert_eq!(parse("1"), Some(FORMAT_FIELDS));
        assert_eq!(parse("2"), Some(FORMAT_PACKED));
        assert_eq!(parse("3"), None);
        assert_eq!(parse("two"), None);
        assert_eq!(glob_escape("ps"), "ps");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}

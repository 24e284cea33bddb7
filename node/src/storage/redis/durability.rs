//! Ack levels above `leader`: what a topic may ask of this Redis, and the
//! `WAIT` that confirms a `replicated:N` append.
//!
//! - `leader`: the append script's reply is the acknowledgement.
//! - `replicated:N`: the append script and `WAIT N <timeout>` go out as one
//!   pipeline on the partition's connection, so `WAIT` covers the append (it
//!   waits for every write sent on that connection before it). Fewer than N
//!   confirmations within the timeout is [`StorageError::OutcomeUnknown`]: the
//!   batch is on the primary but may not survive a failover, and a retry with
//!   the same idempotency key is the client's move. `WAIT` holds the partition's
//!   multiplexed connection while it waits, so a missing replica delays the
//!   other calls on that connection by up to the wait timeout (half the
//!   response timeout).
//! - `fsynced`: accepted at topic creation only if the primary of every
//!   partition reports `appendonly yes` and `appendfsync always` (`CONFIG
//!   GET`); Redis then syncs the append-only file before it replies. The
//!   setting is not re-checked on each append: an operator who turns it off
//!   later weakens the topic silently.

use std::collections::HashMap;
use std::time::Duration;

use api::types::AckLevel;
use redis::{Cmd, ErrorKind, Script, ServerErrorKind};

use super::connection::{Access, Connection};
use super::keys::PartitionKeys;

use crate::storage::StorageError;

/// Refuses an ack level this Redis cannot reach. `partitions` are the keys of
/// the new topic's partitions: each check runs on the primary that owns them.
pub(crate) async fn check(
    conn: &Connection,
    level: AckLevel,
    partitions: &[PartitionKeys],
) -> Result<(), StorageError> {
    match level {
        AckLevel::Leader | AckLevel::Replicated(_) => Ok(()),
        AckLevel::Memory => Err(StorageError::Unsupported {
            reason: "ackLevel memory is for memory storage; Redis acknowledges at leader, \
                     replicated:N or fsynced"
                .to_owned(),
        }),
        AckLevel::Fsynced => {
            for keys in partitions {
                check_fsync(conn, keys).await?;
            }
            Ok(())
        }
    }
}

/// `CONFIG GET <name>`: name → value.
type ConfigReply = HashMap<String, String>;

async fn check_fsync(conn: &Connection, keys: &PartitionKeys) -> Result<(), StorageError> {
    // A cluster client sends a pipeline to the node of its first single-slot
    // command; without one it picks a random node. HLEN puts the CONFIG GETs
    // on the partition's primary.
    let mut pipe = redis::pipe();
    pipe.cmd("HLEN").arg(keys.meta()).ignore();
    pipe.cmd("CONFIG").arg("GET").arg("appendonly");
    pipe.cmd("CONFIG").arg("GET").arg("appendfsync");
    let replies: Result<(ConfigReply, ConfigReply), StorageError> = conn
        .call(Access::Read, |mut c| async move {
            pipe.query_async(&mut c).await
        })
        .await;
    let (appendonly, appendfsync) = replies.map_err(|e| StorageError::Unsupported {
        reason: format!(
            "ackLevel fsynced needs CONFIG GET appendonly/appendfsync on the Redis primary, \
             which failed: {e}"
        ),
    })?;
    let appendonly = appendonly.get("appendonly").map(String::as_str);
    let appendfsync = appendfsync.get("appendfsync").map(String::as_str);
    if appendonly == Some("yes") && appendfsync == Some("always") {
        return Ok(());
    }
    Err(StorageError::Unsupported {
        reason: format!(
            "ackLevel fsynced needs the Redis primary to run `appendonly yes` and \
             `appendfsync always`; it runs appendonly {} and appendfsync {}",
            appendonly.unwrap_or("(unknown)"),
            appendfsync.unwrap_or("(unknown)")
        ),
    })
}

/// Runs an append script (`keys`, `args` as for [`super::scripts::APPEND`] or
/// [`super::scripts::APPEND_PACKED`], whichever `script` is) then
/// `WAIT replicas`, in one pipeline; returns the script's reply. Fewer than
/// `replicas` confirmations is `OutcomeUnknown`.
pub(crate) async fn append_and_wait(
    conn: &Connection,
    script: &'static Script,
    keys: &[String],
    args: &[Vec<u8>],
    replicas: u32,
    wait: Duration,
) -> Result<Vec<i64>, StorageError> {
    let mut evalsha = Cmd::new();
    evalsha
        .arg("EVALSHA")
        .arg(script.get_hash())
        .arg(keys.len())
        .arg(keys)
        .arg(args);
    let wait_millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut pipe = redis::pipe();
    pipe.add_command(evalsha);
    pipe.cmd("WAIT").arg(replicas).arg(wait_millis);
    let (reply, confirmed): (Vec<i64>, i64) = conn
        .call(Access::Write, |mut c| async move {
            match pipe.query_async(&mut c).await {
                // The script was not loaded, so it did not run: load it and go again.
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    script.prepare_invoke().load_async(&mut c).await?;
                    pipe.query_async(&mut c).await
                }
                other => other,
            }
        })
        .await?;
    let stored = matches!(reply.as_slice(), [1, ..] | [2, _]);
    if stored && confirmed < i64::from(replicas) {
        return Err(StorageError::OutcomeUnknown {
            reason: format!(
                "the batch is on the Redis primary but only {confirmed} of {replicas} replicas \
                 confirmed it within {wait_millis} ms"
            ),
        });
    }
    Ok(reply)
}

//! A `MULTI` sent to a Redis Cluster node that no longer serves its slot.
//!
//! After a failover (or a resharding) the cluster client follows a `MOVED`
//! reply to a single command and then relearns the slot map. Inside a
//! transaction it does neither: every queued command is answered `MOVED`,
//! `EXEC` is refused (`EXECABORT`), and the error reaches the caller as it is,
//! so a slot whose only traffic is transactions stays on the old node for
//! good. [`Connection`](super::connection::Connection) recognises that error
//! ([`moved`]), sends one single-key command to the slot
//! ([`slot_probe`]) so that the client follows the redirect and relearns the
//! map, and sends the transaction again: an aborted transaction ran nothing,
//! so sending it again is safe.

use redis::{Cmd, ErrorKind, Pipeline, RedisError, ServerErrorKind};

/// Whether `error` is a transaction that Redis refused because a key's slot
/// is served elsewhere now.
pub(super) fn moved(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::ExecAbort)
        && error.clone().into_server_errors().is_some_and(|errors| {
            errors.iter().any(|(_, e)| {
                matches!(
                    e.kind(),
                    Some(ServerErrorKind::Moved | ServerErrorKind::Ask)
                )
            })
        })
}

/// A read-only command on the transaction's first key (every key of one of
/// our transactions is in one slot): what makes the client follow `MOVED`.
pub(super) fn slot_probe(transaction: &Pipeline) -> Option<Cmd> {
    let key = transaction
        .cmd_iter()
        .find_map(|cmd| match cmd.args_iter().nth(1) {
            Some(redis::Arg::Simple(key)) => Some(key.to_vec()),
            _ => None,
        })?;
    let mut probe = redis::cmd("EXISTS");
    probe.arg(key);
    Some(probe)
}

#[cfg(test)]
mod tests {
    use redis::{ErrorKind, RedisError, ServerErrorKind};

    use super::*;

    #[test]
    fn the_probe_reads_the_first_key() {
        let mut transaction = redis::pipe();
        transaction
            .atomic()
            .cmd("HSET")
            .arg("{t:0}:c:s")
            .arg("f")
            .arg(1)
            .cmd("DEL")
            .arg("{t:0}:x");
        let probe = slot_probe(&transaction).expect("a key");
        let args: Vec<Vec<u8>> = probe
            .args_iter()
            .map(|a| match a {
                redis::Arg::Simple(bytes) => bytes.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(args, [b"EXISTS".to_vec(), b"{t:0}:c:s".to_vec()]);
        assert!(slot_probe(&redis::pipe()).is_none());
    }

    #[test]
    fn only_an_aborted_transaction_is_taken_for_a_moved_one() {
        let refused =
            RedisError::from((ErrorKind::Server(ServerErrorKind::ExecAbort), "EXECABORT"));
        assert!(
            !moved(&refused),
            "an abort without a MOVED among its errors"
        );
        let io = RedisError::from(std::io::Error::other("reset"));
        assert!(!moved(&io));
    }
}

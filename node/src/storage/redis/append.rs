//! Appends ([`FencedLog`] on [`RedisStorage`]): one script call per batch,
//! in the entry format the node writes now (`entry_format`): `append.lua`
//! with nine arguments per message (format 1) or `append_packed.lua` with one
//! (format 2, `packed_entry`).

use api::types::AckLevel;
use async_trait::async_trait;
use cluster::{Discard, Retention};

use super::connection::Access;
use super::{
    FORMAT_PACKED, RedisStorage, corrupt, durability, field_encoding, not_found, packed_entry,
    scripts,
};
use crate::storage::{AppendOptions, Epoch, FencedLog, NewMessage, PartitionRef, StorageError};

#[async_trait]
impl FencedLog for RedisStorage {
    async fn append_fenced(
        &self,
        at: &PartitionRef,
        epoch: Epoch,
        messages: Vec<NewMessage>,
        options: &AppendOptions,
    ) -> Result<Vec<u64>, StorageError> {
        let keys = self.keys(at);
        let count = messages.len() as u64;
        let mut script_keys = vec![keys.epoch(), keys.meta(), keys.log()];
        if let Some(idempotent) = &options.idempotency {
            script_keys.push(keys.dedup(&idempotent.key));
        }
        let retention = &options.retention;
        #[allow(unused_mut, reason = "changed only by a test-only break")]
        let mut epoch_arg = epoch.to_string();
        #[cfg(feature = "test-breaks")]
        if crate::test_breaks::active("skip-epoch-fence") {
            epoch_arg = crate::test_breaks::NO_FENCE_EPOCH.to_owned();
        }
        // The break's epoch lifts the cursor fence too.
        let written_epoch = epoch_arg.parse().map_or(epoch, Epoch::new);
        let mut args: Vec<Vec<u8>> = vec![
            epoch_arg.into_bytes(),
            self.next_token().into_bytes(),
            count.to_string().into_bytes(),
            bound(retention.max_bytes_per_partition).into_bytes(),
            bound(retention.max_messages_per_partition).into_bytes(),
            match retention.discard {
                Discard::Old => b"old".to_vec(),
                Discard::New => b"new".to_vec(),
            },
        ];
        let script = if self.entry_format() == FORMAT_PACKED {
            args.reserve(messages.len());
            for message in &messages {
                args.push(packed_entry::encode(message, options.compression)?);
            }
            &*scripts::APPEND_PACKED
        } else {
            args.reserve(messages.len() * field_encoding::ARGS_PER_MESSAGE);
            for message in &messages {
                args.extend(field_encoding::append_args(message, options.compression));
            }
            &*scripts::APPEND
        };
        if let Some(idempotent) = &options.idempotency {
            args.push(idempotent.ttl_millis.max(1).to_string().into_bytes());
        }
        let ticket = self.known_ends.begin(at);
        let reply: Vec<i64> = match options.ack_level {
            AckLevel::Replicated(replicas) => {
                durability::append_and_wait(
                    &self.conn,
                    script,
                    &script_keys,
                    &args,
                    replicas,
                    self.replica_wait,
                )
                .await?
            }
            // `fsynced` was checked at topic creation: the primary syncs before it replies.
            AckLevel::Leader | AckLevel::Fsynced | AckLevel::Memory => {
                let mut invocation = script.prepare_invoke();
                invocation.key(&script_keys[..]).arg(args);
                self.conn
                    .call(Access::Write, |mut c| async move {
                        invocation.invoke_async(&mut c).await
                    })
                    .await?
            }
        };
        match reply.as_slice() {
            [1, first, start] => {
                let first = u64::try_from(*first).map_err(|_| corrupt("negative offset"))?;
                let start = u64::try_from(*start).map_err(|_| corrupt("negative offset"))?;
                ticket.appended(written_epoch, first + count);
                self.appended_at(at, written_epoch).await;
                if retention.discard == Discard::Old && retention.bounds_size() {
                    // Cursors forget the trimmed offsets on their next lease.
                    self.partition(at).state.lock().await.messages.evict(start);
                }
                Ok((first..first + count).collect())
            }
            [2, first] => {
                let first = u64::try_from(*first).map_err(|_| corrupt("negative offset"))?;
                ticket.found_stored(written_epoch, first + count);
                Ok((first..first + count).collect())
            }
            [3, _] | [0, _] | [-1] => {
                ticket.refused();
                Err(refusal(at, epoch, retention, &reply))
            }
            other => Err(corrupt(format!("append replied {other:?}"))),
        }
    }
}

/// The error of an append the script refused, storing nothing: `[3, which]`
/// partition full (0 by messages, 1 by bytes), `[0, current]` fenced, `[-1]`
/// no such partition.
fn refusal(at: &PartitionRef, epoch: Epoch, retention: &Retention, reply: &[i64]) -> StorageError {
    match reply {
        [3, which] => StorageError::PartitionFull {
            topic: at.topic.to_string(),
            partition: at.partition,
            bound: match which {
                0 => format!("{} messages", bound(retention.max_messages_per_partition)),
                _ => format!("{} bytes", bound(retention.max_bytes_per_partition)),
            },
        },
        [0, current] => StorageError::Fenced {
            topic: at.topic.to_string(),
            partition: at.partition,
            attempted: epoch,
            current: Epoch::new(u64::try_from(*current).unwrap_or_default()),
        },
        _ => not_found(at),
    }
}

/// A size bound as the script takes it: `''` when unbounded.
fn bound(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

//! One per-partition storage call as a value: what the caller sends, how the
//! owner runs it, and what comes back.
//!
//! Both enums cross the peer port encoded by variant index, so variants are
//! only ever appended, never reordered or removed; a new call is a new variant.

use std::sync::Arc;

use cluster::subscription::StartPosition;
use cluster::{Retention, SubscriptionName};
use serde::{Deserialize, Serialize};

use crate::storage::{
    AckOutcome, AppendOptions, Backlog, CopiedDeadLetter, DeadLetter, DeliveryPolicy, DeliveryRef,
    Epoch, FencedStorage, LeaseOutcome, LeaseRequest, Nack, NewMessage, PartitionOffsets,
    PartitionRef, RedriveFilter, SeekTarget, StorageError, StoredMessage,
};

/// The peer-port path storage calls are `POST`ed to.
pub const CALL_PATH: &str = "/storage/call";

/// A per-partition call of [`MessageLog`](crate::storage::MessageLog) or
/// [`SubscriptionState`](crate::storage::SubscriptionState), with its
/// arguments. Appends carry no epoch: the owner writes with its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageCall {
    Append {
        partition: PartitionRef,
        messages: Vec<NewMessage>,
    },
    AppendWith {
        partition: PartitionRef,
        messages: Vec<NewMessage>,
        options: AppendOptions,
    },
    Read {
        partition: PartitionRef,
        from: u64,
        max: usize,
    },
    Offsets {
        partition: PartitionRef,
    },
    Trim {
        partition: PartitionRef,
        retention: Retention,
        now_millis: u64,
    },
    Lease {
        subscription: SubscriptionName,
        partition: PartitionRef,
        request: LeaseRequest,
    },
    Ack {
        subscription: SubscriptionName,
        partition: PartitionRef,
        deliveries: Vec<DeliveryRef>,
        now_millis: u64,
        exact: bool,
    },
    Extend {
        subscription: SubscriptionName,
        partition: PartitionRef,
        deliveries: Vec<DeliveryRef>,
        deadline_millis: u64,
        now_millis: u64,
    },
    Nack {
        subscription: SubscriptionName,
        partition: PartitionRef,
        deliveries: Vec<DeliveryRef>,
        nack: Nack,
        now_millis: u64,
        policy: DeliveryPolicy,
    },
    Backlog {
        subscription: SubscriptionName,
        partition: PartitionRef,
        now_millis: u64,
    },
    NextWakeup {
        subscription: SubscriptionName,
        partition: PartitionRef,
        now_millis: u64,
    },
    DeadLetters {
        subscription: SubscriptionName,
        partition: PartitionRef,
        max: usize,
    },
    Redrive {
        subscription: SubscriptionName,
        partition: PartitionRef,
        filter: RedriveFilter,
        max: usize,
        now_millis: u64,
        spacing_millis: u64,
    },
    ParkedKeys {
        subscription: SubscriptionName,
        partition: PartitionRef,
    },
    ResumeKey {
        subscription: SubscriptionName,
        partition: PartitionRef,
        key: String,
    },
    Seek {
        subscription: SubscriptionName,
        partition: PartitionRef,
        target: SeekTarget,
    },
    /// Creates the subscription's state on the node owning `partition` (all
    /// `partitions` of the topic on that node's backend), so a cursor that
    /// starts at the latest message starts there before the subscription is
    /// committed, not when the owner later hears of it.
    CreateSubscription {
        subscription: SubscriptionName,
        partition: PartitionRef,
        partitions: u32,
        start: StartPosition,
    },
    /// [`SubscriptionState::dead_letter_outbox`](crate::storage::SubscriptionState::dead_letter_outbox).
    DeadLetterOutbox {
        subscription: SubscriptionName,
        partition: PartitionRef,
        max: usize,
    },
    /// [`SubscriptionState::dead_letters_copied`](crate::storage::SubscriptionState::dead_letters_copied).
    DeadLettersCopied {
        subscription: SubscriptionName,
        partition: PartitionRef,
        copied: Vec<CopiedDeadLetter>,
    },
}

/// What a [`StorageCall`] returned, one variant per return type.
#[derive(Debug, Serialize, Deserialize)]
pub enum StorageReply {
    /// `append`, `append_with`: the new messages' offsets.
    Appended(Vec<u64>),
    /// `read`.
    Messages(Vec<Arc<StoredMessage>>),
    /// `offsets`.
    Offsets(PartitionOffsets),
    /// `trim`, `redrive`: how many messages the call affected.
    Count(u64),
    /// `lease`.
    Leased(LeaseOutcome),
    /// `ack`.
    Acked(AckOutcome),
    /// `extend`, `seek`, `dead_letters_copied`.
    Done,
    /// `nack`, `dead_letters`, `dead_letter_outbox`.
    DeadLetters(Vec<DeadLetter>),
    /// `backlog`.
    Backlog(Backlog),
    /// `next_wakeup`.
    Wakeup(Option<u64>),
    /// `parked_keys`.
    Keys(Vec<String>),
    /// `resume_key`.
    Resumed(bool),
}

impl StorageCall {
    /// The partition whose owner must run the call.
    pub fn partition(&self) -> &PartitionRef {
        match self {
            StorageCall::Append { partition, .. }
            | StorageCall::AppendWith { partition, .. }
            | StorageCall::Read { partition, .. }
            | StorageCall::Offsets { partition }
            | StorageCall::Trim { partition, .. }
            | StorageCall::Lease { partition, .. }
            | StorageCall::Ack { partition, .. }
            | StorageCall::Extend { partition, .. }
            | StorageCall::Nack { partition, .. }
            | StorageCall::Backlog { partition, .. }
            | StorageCall::NextWakeup { partition, .. }
            | StorageCall::DeadLetters { partition, .. }
            | StorageCall::DeadLetterOutbox { partition, .. }
            | StorageCall::DeadLettersCopied { partition, .. }
            | StorageCall::Redrive { partition, .. }
            | StorageCall::ParkedKeys { partition, .. }
            | StorageCall::ResumeKey { partition, .. }
            | StorageCall::Seek { partition, .. }
            | StorageCall::CreateSubscription { partition, .. } => partition,
        }
    }

    /// Whether the call changes state, so a lost answer leaves its outcome
    /// unknown. A lease is a write: it hands messages out.
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            StorageCall::Read { .. }
                | StorageCall::Offsets { .. }
                | StorageCall::Backlog { .. }
                | StorageCall::NextWakeup { .. }
                | StorageCall::DeadLetters { .. }
                | StorageCall::DeadLetterOutbox { .. }
                | StorageCall::ParkedKeys { .. }
        )
    }

    /// Whether the call, once run, may make messages deliverable to a waiter
    /// (new messages, a nack, an ack that frees an ordering key, a redrive, a
    /// seek), so the owner wakes its waiters and watchers. A lease does not:
    /// waiters lease when they look, and waking each other on every look
    /// would never end.
    pub fn wakes(&self) -> bool {
        matches!(
            self,
            StorageCall::Append { .. }
                | StorageCall::AppendWith { .. }
                | StorageCall::Ack { .. }
                | StorageCall::Nack { .. }
                | StorageCall::Redrive { .. }
                | StorageCall::ResumeKey { .. }
                | StorageCall::Seek { .. }
        )
    }

    /// The call's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            StorageCall::Append { .. } => "append",
            StorageCall::AppendWith { .. } => "append_with",
            StorageCall::Read { .. } => "read",
            StorageCall::Offsets { .. } => "offsets",
            StorageCall::Trim { .. } => "trim",
            StorageCall::Lease { .. } => "lease",
            StorageCall::Ack { .. } => "ack",
            StorageCall::Extend { .. } => "extend",
            StorageCall::Nack { .. } => "nack",
            StorageCall::Backlog { .. } => "backlog",
            StorageCall::NextWakeup { .. } => "next_wakeup",
            StorageCall::DeadLetters { .. } => "dead_letters",
            StorageCall::DeadLetterOutbox { .. } => "dead_letter_outbox",
            StorageCall::DeadLettersCopied { .. } => "dead_letters_copied",
            StorageCall::Redrive { .. } => "redrive",
            StorageCall::ParkedKeys { .. } => "parked_keys",
            StorageCall::ResumeKey { .. } => "resume_key",
            StorageCall::Seek { .. } => "seek",
            StorageCall::CreateSubscription { .. } => "create_subscription",
        }
    }

    /// Runs the call on `storage`, the owner's own backend; appends write
    /// with `epoch`, the owner's epoch.
    pub async fn run(
        self,
        storage: &dyn FencedStorage,
        epoch: Epoch,
    ) -> Result<StorageReply, StorageError> {
        use StorageReply as R;
        Ok(match self {
            StorageCall::Append {
                partition,
                messages,
            } => {
                let options = AppendOptions::plain(storage.ack_level());
                R::Appended(
                    storage
                        .append_fenced(&partition, epoch, messages, &options)
                        .await?,
                )
            }
            StorageCall::AppendWith {
                partition,
                messages,
                options,
            } => R::Appended(
                storage
                    .append_fenced(&partition, epoch, messages, &options)
                    .await?,
            ),
            StorageCall::Read {
                partition,
                from,
                max,
            } => R::Messages(storage.read(&partition, from, max).await?),
            StorageCall::Offsets { partition } => R::Offsets(storage.offsets(&partition).await?),
            StorageCall::Trim {
                partition,
                retention,
                now_millis,
            } => R::Count(storage.trim(&partition, &retention, now_millis).await?),
            StorageCall::Lease {
                subscription,
                partition,
                request,
            } => R::Leased(storage.lease(&subscription, &partition, request).await?),
            StorageCall::Ack {
                subscription,
                partition,
                deliveries,
                now_millis,
                exact,
            } => R::Acked(
                storage
                    .ack(&subscription, &partition, &deliveries, now_millis, exact)
                    .await?,
            ),
            StorageCall::Extend {
                subscription,
                partition,
                deliveries,
                deadline_millis,
                now_millis,
            } => {
                storage
                    .extend(
                        &subscription,
                        &partition,
                        &deliveries,
                        deadline_millis,
                        now_millis,
                    )
                    .await?;
                R::Done
            }
            StorageCall::Nack {
                subscription,
                partition,
                deliveries,
                nack,
                now_millis,
                policy,
            } => R::DeadLetters(
                storage
                    .nack(
                        &subscription,
                        &partition,
                        &deliveries,
                        &nack,
                        now_millis,
                        policy,
                    )
                    .await?,
            ),
            StorageCall::Backlog {
                subscription,
                partition,
                now_millis,
            } => R::Backlog(
                storage
                    .backlog(&subscription, &partition, now_millis)
                    .await?,
            ),
            StorageCall::NextWakeup {
                subscription,
                partition,
                now_millis,
            } => R::Wakeup(
                storage
                    .next_wakeup(&subscription, &partition, now_millis)
                    .await?,
            ),
            StorageCall::DeadLetters {
                subscription,
                partition,
                max,
            } => R::DeadLetters(storage.dead_letters(&subscription, &partition, max).await?),
            StorageCall::DeadLetterOutbox {
                subscription,
                partition,
                max,
            } => R::DeadLetters(
                storage
                    .dead_letter_outbox(&subscription, &partition, max)
                    .await?,
            ),
            StorageCall::DeadLettersCopied {
                subscription,
                partition,
                copied,
            } => {
                storage
                    .dead_letters_copied(&subscription, &partition, &copied)
                    .await?;
                R::Done
            }
            StorageCall::Redrive {
                subscription,
                partition,
                filter,
                max,
                now_millis,
                spacing_millis,
            } => R::Count(
                storage
                    .redrive(
                        &subscription,
                        &partition,
                        filter,
                        max,
                        now_millis,
                        spacing_millis,
                    )
                    .await?,
            ),
            StorageCall::ParkedKeys {
                subscription,
                partition,
            } => R::Keys(storage.parked_keys(&subscription, &partition).await?),
            StorageCall::ResumeKey {
                subscription,
                partition,
                key,
            } => R::Resumed(storage.resume_key(&subscription, &partition, &key).await?),
            StorageCall::Seek {
                subscription,
                partition,
                target,
            } => {
                storage.seek(&subscription, &partition, target).await?;
                R::Done
            }
            StorageCall::CreateSubscription {
                subscription,
                partition,
                partitions,
                start,
            } => {
                storage
                    .create_subscription(&subscription, &partition.topic, partitions, start)
                    .await?;
                R::Done
            }
        })
    }
}

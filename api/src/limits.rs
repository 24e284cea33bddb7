//! Request limits. They are part of the contract and documented in `docs/api.md`
//! (Limits); the OpenAPI document's bounds use these constants.

/// Bytes of a message counted against the size limits and in statistics:
/// its data plus every attribute's key and value.
pub fn counted_bytes(
    data: &[u8],
    attributes: &std::collections::BTreeMap<String, String>,
) -> usize {
    data.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

/// Most messages in one publish request.
pub const MAX_BATCH_MESSAGES: usize = 1000;
/// Most bytes of message data and attributes in one publish request (decoded).
pub const MAX_BATCH_BYTES: usize = 10 * 1024 * 1024;
/// Largest request body after decompression (JSON with base64 inflates data by 4/3).
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most attributes on one message.
pub const MAX_ATTRIBUTES: usize = 100;
/// Longest attribute key, in bytes.
pub const MAX_ATTRIBUTE_KEY_BYTES: usize = 256;
/// Longest attribute value, in bytes.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;
/// Longest ordering key, in bytes.
pub const MAX_ORDERING_KEY_BYTES: usize = 1024;
/// Highest message priority; 0 is the lowest.
pub const MAX_PRIORITY: u8 = 9;
/// Priority of a message that states none.
pub const DEFAULT_PRIORITY: u8 = 4;
/// Most messages one pull may return.
pub const MAX_PULL_MESSAGES: u32 = 1000;
/// Messages one pull returns when `maxMessages` is not given.
pub const DEFAULT_PULL_MESSAGES: u32 = 100;
/// Longest long-poll wait of one pull, in seconds.
pub const MAX_PULL_WAIT_SECONDS: u32 = 60;
/// Most ack ids in one acknowledge, nack or modifyAckDeadline request.
pub const MAX_ACK_IDS: usize = 2500;
/// Largest page of a list request.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page size when `pageSize` is not given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Most messages a WebSocket client may hold outstanding (its credit).
pub const MAX_STREAM_CREDIT: u32 = 10_000;
/// Longest delivery delay (`deliverAfter`): 7 days, in seconds.
pub const MAX_DELIVER_AFTER_SECONDS: u64 = 7 * 24 * 60 * 60;
/// Most messages one `:deadLetters` call lists.
pub const MAX_LIST_DEAD_LETTERS: u32 = 1000;
/// Dead letters one `:deadLetters` call lists when `maxMessages` is not given.
pub const DEFAULT_LIST_DEAD_LETTERS: u32 = 100;
/// Most messages one `:redrive` moves.
pub const MAX_REDRIVE_MESSAGES: u32 = 10_000;
/// Messages one `:redrive` moves when `maxMessages` is not given.
pub const DEFAULT_REDRIVE_MESSAGES: u32 = 1000;
/// Fastest redelivery rate of a `:redrive`, messages per second per partition.
pub const MAX_REDRIVE_RATE: u32 = 10_000;
/// Redelivery rate of a `:redrive` that states none.
pub const DEFAULT_REDRIVE_RATE: u32 = 100;
/// Longest explicit nack delay, in seconds.
pub const MAX_NACK_DELAY_SECONDS: u32 = 600;
/// Longest nack reason kept, in bytes.
pub const MAX_NACK_REASON_BYTES: usize = 1024;
/// Longest `Idempotency-Key`, in bytes (visible ASCII only, so characters too).
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 256;

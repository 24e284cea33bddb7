//! Builders for storage-level calls ([`node::storage`]), for tests that drive
//! a backend directly.

use node::storage::NewMessage;

/// A message carrying `data`, published at `publish_time_millis`, with
/// default priority (4) and no key, attributes, delay or expiry.
pub fn message(data: impl Into<bytes::Bytes>, publish_time_millis: u64) -> NewMessage {
    NewMessage {
        data: data.into(),
        attributes: Default::default(),
        ordering_key: None,
        priority: 4,
        publish_time_millis,
        deliver_at_millis: None,
        expire_at_millis: None,
    }
}

//! The encoding of storage calls between nodes: the Raft peer protocol's
//! (`raft::versioned_postcard`: postcard behind a one-byte format version), around an
//! [`Envelope`].
//!
//! postcard is not self-describing, so a changed type cannot decode old bytes;
//! the version byte lets a newer node recognise what an older one sent instead
//! of misreading it. Within one version, enums only ever gain variants at the end.

use serde::{Deserialize, Serialize};

pub(crate) use raft::versioned_postcard::{decode, encode};

/// A call with what the caller knows of the metadata. Generic so the caller
/// encodes a borrowed call and the receiver decodes an owned one.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope<C> {
    /// The caller's applied metadata index: the receiver catches up to it
    /// before it judges ownership, so it never answers from an older view.
    pub(crate) applied_index: u64,
    pub(crate) call: C,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use bytes::Bytes;
    use cluster::{NodeId, TopicName};
    use raft::versioned_postcard::{CURRENT, FORMAT_V1};

    use super::*;
    use crate::routing::{StorageCall, StorageReply};
    use crate::storage::{NewMessage, PartitionRef, StorageError, StoredMessage};

    fn message() -> NewMessage {
        NewMessage {
            data: Bytes::from_static(b"\x00binary\xff"),
            attributes: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            ordering_key: Some("key".to_owned()),
            priority: 9,
            publish_time_millis: 1_700_000_000_000,
            deliver_at_millis: None,
            expire_at_millis: crate::storage::Millis::new(u64::MAX),
        }
    }

    #[test]
    fn a_call_and_its_answers_round_trip() {
        let partition = PartitionRef {
            topic: TopicName::new("orders").expect("valid name"),
            partition: 3,
        };
        let call = StorageCall::Append {
            partition,
            messages: vec![message()],
        };
        let bytes = encode(&Envelope {
            applied_index: 42,
            call: &call,
        })
        .expect("encode");
        // Storage calls hold nothing a later format added: written as format 1,
        // which a node of an older release reads.
        assert_eq!(bytes[0], FORMAT_V1);
        let back: Envelope<StorageCall> = decode(&bytes).expect("decode");
        assert_eq!(back.applied_index, 42);
        assert_eq!(back.call, call);

        let read: Result<StorageReply, StorageError> =
            Ok(StorageReply::Messages(vec![Arc::new(StoredMessage {
                offset: 7,
                message: message(),
            })]));
        let back: Result<StorageReply, StorageError> =
            decode(&encode(&read).expect("encode")).expect("decode");
        assert!(
            matches!(&back, Ok(StorageReply::Messages(m)) if m[0].offset == 7 && m[0].message == message()),
            "got {back:?}"
        );

        let moved: Result<StorageReply, StorageError> = Err(StorageError::Moved {
            topic: "orders".to_owned(),
            partition: 3,
            owner: Some(NodeId::new(2)),
        });
        let back: Result<StorageReply, StorageError> =
            decode(&encode(&moved).expect("encode")).expect("decode");
        assert!(
            matches!(
                &back,
                Err(StorageError::Moved {
                    owner,
                    partition: 3,
                    ..
                }) if *owner == Some(NodeId::new(2))
            ),
            "got {back:?}"
        );
    }

    #[test]
    fn unknown_versions_and_empty_bodies_are_refused() {
        let mut bytes = encode(&7u64).expect("encode");
        bytes[0] = CURRENT + 1;
        assert!(decode::<u64>(&bytes).is_err());
        assert!(decode::<u64>(&[]).is_err());
    }

    #[test]
    fn an_invalid_topic_name_does_not_decode() {
        // Names are validated on the way in, on this edge as on every other.
        let bytes = encode(&("x".to_owned(), 0u32)).expect("encode");
        assert!(decode::<PartitionRef>(&bytes).is_err());
    }
}

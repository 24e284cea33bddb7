//! Binary WebSocket frames: the compact alternative to the JSON frames, for
//! clients that publish or consume at high rates. Payloads travel as raw bytes
//! (no base64), and one frame carries a whole batch.
//!
//! Where they are used:
//! - `GET /v1/topics/{topic}:publishStream`: a client may send [`PublishBatch`]
//!   frames; the server answers each with a [`Published`] frame.
//! - `GET /v1/subscriptions/{sub}:stream?encoding=binary`: the server sends
//!   [`Deliveries`] frames (every message one lease handed out) instead of one
//!   JSON text frame per message.
//!
//! Errors are always JSON text frames (see [`crate::frames`]), and client frames
//! on `:stream` (credit, ack, nack) stay JSON: they are small and infrequent.
//!
//! # Layout
//! One byte naming the frame [`Kind`], then the [postcard 1.x] encoding of the
//! frame's struct: fields in declaration order; unsigned integers wider than a
//! byte are LEB128 varints, `u8` is one byte, `bool` is one byte (0 or 1);
//! `Option` is one byte (0 = none, 1 = some) followed by the value; strings and
//! byte strings are a varint length and the bytes; vectors and maps are a varint
//! count and the items (map entries as key then value). A frame that does not
//! decode whole is refused with an `INVALID_ARGUMENT` error frame.
//!
//! [postcard 1.x]: https://postcard.jamesmunns.com/wire-format

use std::collections::BTreeMap;

use bytes::Bytes;
use postcard::ser_flavors::Size;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::types::ReceivedMessage;
use crate::types::{AckLevel, Message, PublishMessage, PublishRequest, PublishResponse};

/// The first byte of every binary frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Client → server on `:publishStream`: [`PublishBatch`].
    Publish = 1,
    /// Server → client on `:publishStream`: [`Published`].
    Published = 2,
    /// Server → client on `:stream?encoding=binary`: [`Deliveries`].
    Deliveries = 3,
}

/// A decoded binary frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Publish(PublishBatch),
    Published(Published),
    Deliveries(Deliveries),
}

/// Why a binary frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    #[error("empty binary frame")]
    Empty,
    #[error("unknown binary frame kind {0}")]
    UnknownKind(u8),
    #[error("binary frame of kind {kind} does not decode: {reason}")]
    Malformed { kind: u8, reason: String },
}

/// A publish on `:publishStream`: the same limits and meaning as one
/// `POST :publish` body with an optional `Idempotency-Key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishBatch {
    /// Chosen by the client; the answer carries it back.
    pub id: u64,
    pub idempotency_key: Option<String>,
    pub messages: Vec<BinaryMessage>,
}

/// One message of a [`PublishBatch`]; see [`PublishMessage`] for each field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryMessage {
    pub data: Bytes,
    pub attributes: BTreeMap<String, String>,
    pub ordering_key: Option<String>,
    pub priority: Option<u8>,
    pub deliver_after_millis: Option<u64>,
    pub ttl_millis: Option<u64>,
}

/// The answer to a [`PublishBatch`]: where each message went, in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub id: u64,
    pub partitions: Vec<u32>,
    pub offsets: Vec<u64>,
    /// As in JSON: `memory`, `leader`, `replicated:N` or `fsynced`.
    pub ack_level: String,
    pub deduplicated: bool,
}

/// Messages delivered on a binary `:stream`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    pub messages: Vec<Delivered>,
}

/// One delivered message; the same fields as [`ReceivedMessage`] and its [`Message`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    pub ack_id: String,
    pub message_id: String,
    pub data: Bytes,
    pub attributes: BTreeMap<String, String>,
    pub ordering_key: Option<String>,
    pub priority: u8,
    /// RFC 3339, as in JSON.
    pub publish_time: String,
    pub deliver_time: Option<String>,
    pub expire_time: Option<String>,
    pub partition: u32,
    pub offset: u64,
    pub delivery_attempt: u32,
    pub generation: Option<u64>,
}

/// Encodes one frame: its kind byte, then postcard.
pub fn encode<T: Serialize>(kind: Kind, value: &T) -> Vec<u8> {
    // One allocation of the exact size: a frame of deliveries is tens of KiB,
    // and grown from empty it was copied at every doubling. Serializing these
    // plain structs cannot fail.
    let size = postcard::serialize_with_flavor::<T, Size, usize>(value, Size::default());
    let mut out = Vec::with_capacity(1 + size.unwrap_or(0));
    out.push(kind as u8);
    postcard::to_extend(value, out).unwrap_or_else(|_| vec![kind as u8])
}

/// Decodes one frame; trailing bytes are an error.
pub fn decode(bytes: &[u8]) -> Result<Frame, BinaryError> {
    let (&kind, body) = bytes.split_first().ok_or(BinaryError::Empty)?;
    fn whole<'a, T: Deserialize<'a>>(kind: u8, body: &'a [u8]) -> Result<T, BinaryError> {
        let malformed = |reason: String| BinaryError::Malformed { kind, reason };
        let (value, rest) =
            postcard::take_from_bytes(body).map_err(|e| malformed(e.to_string()))?;
        if rest.is_empty() {
            Ok(value)
        } else {
            Err(malformed(format!("{} bytes after the end", rest.len())))
        }
    }
    match kind {
        k if k == Kind::Publish as u8 => whole(kind, body).map(Frame::Publish),
        k if k == Kind::Published as u8 => whole(kind, body).map(Frame::Published),
        k if k == Kind::Deliveries as u8 => whole(kind, body).map(Frame::Deliveries),
        other => Err(BinaryError::UnknownKind(other)),
    }
}

impl PublishBatch {
    /// The JSON request this batch stands for, and its idempotency key.
    pub fn into_request(self) -> (u64, Option<String>, PublishRequest) {
        let messages = self
            .messages
            .into_iter()
            .map(PublishMessage::from)
            .collect();
        (self.id, self.idempotency_key, PublishRequest { messages })
    }

    pub fn from_request(id: u64, idempotency_key: Option<String>, request: PublishRequest) -> Self {
        Self {
            id,
            idempotency_key,
            messages: request
                .messages
                .into_iter()
                .map(BinaryMessage::from)
                .collect(),
        }
    }
}

impl From<BinaryMessage> for PublishMessage {
    fn from(m: BinaryMessage) -> Self {
        PublishMessage {
            data: crate::data::Data(m.data),
            attributes: m.attributes,
            ordering_key: m.ordering_key,
            priority: m.priority,
            deliver_after: m.deliver_after_millis.map(Duration::from_millis),
            ttl: m.ttl_millis.map(Duration::from_millis),
        }
    }
}

impl From<PublishMessage> for BinaryMessage {
    fn from(m: PublishMessage) -> Self {
        BinaryMessage {
            data: m.data.0,
            attributes: m.attributes,
            ordering_key: m.ordering_key,
            priority: m.priority,
            deliver_after_millis: m.deliver_after.map(|d| d.as_millis()),
            ttl_millis: m.ttl.map(|d| d.as_millis()),
        }
    }
}

impl Published {
    pub fn new(id: u64, response: PublishResponse) -> Self {
        Self {
            id,
            partitions: response.partitions,
            offsets: response.offsets,
            ack_level: response.ack_level.to_string(),
            deduplicated: response.deduplicated,
        }
    }

    /// The JSON answer this frame stands for; `None` if the ack level is not one
    /// this client knows.
    pub fn into_response(self) -> Option<PublishResponse> {
        let ack_level: AckLevel = self.ack_level.parse().ok()?;
        Some(PublishResponse {
            message_ids: self
                .partitions
                .iter()
                .zip(&self.offsets)
                .map(|(p, o)| crate::types::message_id(*p, *o))
                .collect(),
            partitions: self.partitions,
            offsets: self.offsets,
            ack_level,
            deduplicated: self.deduplicated,
        })
    }
}

impl From<ReceivedMessage> for Delivered {
    fn from(r: ReceivedMessage) -> Self {
        let m = r.message;
        Delivered {
            ack_id: r.ack_id,
            message_id: m.message_id,
            data: m.data.0,
            attributes: m.attributes,
            ordering_key: m.ordering_key,
            priority: m.priority,
            publish_time: m.publish_time,
            deliver_time: m.deliver_time,
            expire_time: m.expire_time,
            partition: m.partition,
            offset: m.offset,
            delivery_attempt: r.delivery_attempt,
            generation: r.generation,
        }
    }
}

impl From<Delivered> for ReceivedMessage {
    fn from(d: Delivered) -> Self {
        ReceivedMessage {
            ack_id: d.ack_id,
            message: Message {
                message_id: d.message_id,
                data: crate::data::Data(d.data),
                attributes: d.attributes,
                ordering_key: d.ordering_key,
                priority: d.priority,
                publish_time: d.publish_time,
                deliver_time: d.deliver_time,
                expire_time: d.expire_time,
                partition: d.partition,
                offset: d.offset,
            },
            delivery_attempt: d.delivery_attempt,
            generation: d.generation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_batch_has_the_documented_layout() {
        let batch = PublishBatch {
            id: 300,
            idempotency_key: None,
            messages: vec![BinaryMessage {
                data: Bytes::from_static(b"hi"),
                priority: Some(7),
                ..BinaryMessage::default()
            }],
        };
        let bytes = encode(Kind::Publish, &batch);
        #[rustfmt::skip]
        let expected = [
            1,          // kind: publish
            0xac, 0x02, // id 300 as a LEB128 varint
            0,          // no idempotency key
            1,          // one message
            2, b'h', b'i', // data
            0,          // no attributes
            0,          // no ordering key
            1, 7,       // priority 7
            0, 0,       // no deliverAfter, no ttl
        ];
        assert_eq!(bytes, expected);
        assert_eq!(decode(&bytes), Ok(Frame::Publish(batch)));
    }

    #[test]
    fn frames_round_trip_and_bad_frames_are_refused() {
        let published = Published {
            id: 1,
            partitions: vec![0, 3],
            offsets: vec![10, 11],
            ack_level: "memory".into(),
            deduplicated: false,
        };
        let bytes = encode(Kind::Published, &published);
        assert_eq!(decode(&bytes), Ok(Frame::Published(published.clone())));
        let response = published.into_response().expect("known ack level");
        assert_eq!(response.message_ids, ["0-10", "3-11"]);
        assert_eq!(response.ack_level, AckLevel::Memory);

        assert_eq!(decode(&[]), Err(BinaryError::Empty));
        assert_eq!(decode(&[9, 0]), Err(BinaryError::UnknownKind(9)));
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            Err(BinaryError::Malformed { kind: 2, .. })
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            decode(&long),
            Err(BinaryError::Malformed { kind: 2, .. })
        ));
    }

    #[test]
    fn deliveries_carry_every_field_of_a_received_message() {
        let received = ReceivedMessage {
            ack_id: "a".into(),
            message: Message {
                message_id: "2-5".into(),
                data: crate::data::Data::from("payload"),
                attributes: [("k".to_owned(), "v".to_owned())].into(),
                ordering_key: Some("key".into()),
                priority: 4,
                publish_time: "2026-11-25T00:00:00Z".into(),
                deliver_time: None,
                expire_time: Some("2026-11-26T00:00:00Z".into()),
                partition: 2,
                offset: 5,
            },
            delivery_attempt: 3,
            generation: Some(9),
        };
        let frame = Deliveries {
            messages: vec![Delivered::from(received.clone())],
        };
        let Ok(Frame::Deliveries(decoded)) = decode(&encode(Kind::Deliveries, &frame)) else {
            panic!("deliveries frame did not decode");
        };
        let back: Vec<ReceivedMessage> = decoded.messages.into_iter().map(Into::into).collect();
        assert_eq!(back, [received]);
    }
}

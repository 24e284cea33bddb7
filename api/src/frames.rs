//! JSON WebSocket frames of `GET /v1/subscriptions/{sub}:stream` ([`ServerFrame`],
//! [`ClientFrame`]) and `GET /v1/topics/{topic}:publishStream` ([`PublishFrame`],
//! [`PublishAnswer`]). Both endpoints also speak binary frames: see [`crate::binary`].
//!
//! `:stream` flow control: the client sends `{"type":"credit","messages":N}`; the server then
//! keeps at most N messages outstanding (delivered, neither acked nor nacked).
//! Each ack or nack frees one slot; a new credit frame replaces the window; credit
//! 0 pauses delivery. A new stream starts with credit 0, so nothing arrives before
//! the first credit frame. Leases of a closed stream expire and are redelivered.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Problem;
use crate::types::{Message, PublishMessage, PublishResponse, ReceivedMessage};

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerFrame {
    /// One delivered message.
    #[serde(rename_all = "camelCase")]
    Message {
        ack_id: String,
        message: Message,
        delivery_attempt: u32,
        /// On a partitioned subscription: the generation of the assignment it was delivered under.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        generation: Option<u64>,
    },
    /// A client frame was rejected; the stream stays open.
    Error { problem: Problem },
}

impl ServerFrame {
    /// The text of `ServerFrame::from(received)`, byte for byte what serde_json
    /// writes for it, written by hand (`types::delivery_json`): one per message
    /// delivered on a JSON `:stream`.
    pub fn message_text(received: &ReceivedMessage) -> String {
        let mut json = Vec::with_capacity(received.message.data.len() / 3 * 4 + 256);
        received.write_json(&mut json, Some("message"));
        String::from_utf8(json).expect("only strings and ASCII punctuation went in")
    }
}

impl From<ReceivedMessage> for ServerFrame {
    fn from(m: ReceivedMessage) -> Self {
        ServerFrame::Message {
            ack_id: m.ack_id,
            message: m.message,
            delivery_attempt: m.delivery_attempt,
            generation: m.generation,
        }
    }
}

/// A frame the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientFrame {
    #[serde(rename_all = "camelCase")]
    Ack { ack_ids: Vec<String> },
    #[serde(rename_all = "camelCase")]
    Nack {
        ack_ids: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_seconds: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    ModifyAckDeadline {
        ack_ids: Vec<String>,
        ack_deadline_seconds: u32,
    },
    /// The most messages the client may hold outstanding from now on.
    Credit { messages: u32 },
}

/// A publish on `:publishStream` as a JSON text frame: a `:publish` body plus an
/// id the answer carries back and an optional idempotency key. A client may send
/// many before the first answer arrives; answers come in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishFrame {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub messages: Vec<PublishMessage>,
}

/// The server's answer to one publish on `:publishStream`. Binary publishes are
/// answered with binary `Published` frames, errors always with `error` text frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PublishAnswer {
    /// Stored: the same body as a `:publish` response.
    Published { id: u64, response: PublishResponse },
    /// Not stored. `id` is absent when the frame was too broken to read one;
    /// the stream stays open.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        problem: Problem,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_use_documented_json() {
        let credit: ClientFrame =
            serde_json::from_str(r#"{"type":"credit","messages":5}"#).expect("credit");
        assert_eq!(credit, ClientFrame::Credit { messages: 5 });
        let ack: ClientFrame =
            serde_json::from_str(r#"{"type":"ack","ackIds":["a"]}"#).expect("ack");
        assert_eq!(
            ack,
            ClientFrame::Ack {
                ack_ids: vec!["a".into()]
            }
        );
        let modify: ClientFrame = serde_json::from_str(
            r#"{"type":"modifyAckDeadline","ackIds":["a"],"ackDeadlineSeconds":30}"#,
        )
        .expect("modify");
        assert!(matches!(
            modify,
            ClientFrame::ModifyAckDeadline {
                ack_deadline_seconds: 30,
                ..
            }
        ));
        assert!(
            serde_json::from_str::<ClientFrame>(r#"{"type":"credit","messages":5,"x":1}"#).is_err()
        );
    }
}

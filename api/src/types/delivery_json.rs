//! Delivered messages written as JSON by hand: byte for byte what
//! `serde_json` writes for the same values (the tests below hold them equal
//! over arbitrary messages), for the two paths that write one per message
//! delivered, a pull's answer and a JSON `:stream`'s `message` frame.
//!
//! Why not `serde_json`: it checks every byte of every string for escapes one
//! at a time, and a message's base64 data (a third longer than the payload)
//! never has any; on workload (a) over REST that check cost more than the
//! base64 encoding itself. Here the data is encoded straight into the output,
//! and a string goes through `serde_json`'s escaping only when a quick scan
//! finds a byte that needs it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::delivery::{Message, PullResponse, ReceivedMessage};
use crate::data::Data;

impl PullResponse {
    /// This answer as JSON, exactly as `serde_json::to_vec` writes it.
    pub fn to_json(&self) -> Vec<u8> {
        let payload: usize = self
            .received_messages
            .iter()
            .map(|m| m.message.data.len())
            .sum();
        let mut out = Vec::with_capacity(32 + payload / 3 * 4 + self.received_messages.len() * 256);
        out.extend_from_slice(b"{\"receivedMessages\":[");
        for (index, received) in self.received_messages.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            received.write_json(&mut out, None);
        }
        out.extend_from_slice(b"]}");
        out
    }
}

impl ReceivedMessage {
    /// Appends this delivery as one JSON object, first `"type":<tag>` when
    /// given (the internally tagged frame of a `:stream`,
    /// [`ServerFrame::message_text`](crate::frames::ServerFrame::message_text)).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>, tag: Option<&str>) {
        out.push(b'{');
        if let Some(tag) = tag {
            out.extend_from_slice(b"\"type\":");
            write_str(out, tag);
            out.push(b',');
        }
        out.extend_from_slice(b"\"ackId\":");
        write_str(out, &self.ack_id);
        out.extend_from_slice(b",\"message\":");
        self.message.write_json(out);
        out.extend_from_slice(b",\"deliveryAttempt\":");
        write_number(out, self.delivery_attempt);
        if let Some(generation) = self.generation {
            out.extend_from_slice(b",\"generation\":");
            write_number(out, generation);
        }
        out.push(b'}');
    }
}

impl Message {
    /// Appends this message as one JSON object.
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"messageId\":");
        write_str(out, &self.message_id);
        if !self.data.is_empty() {
            out.extend_from_slice(b",\"data\":");
            write_data(out, &self.data);
        }
        if !self.attributes.is_empty() {
            out.extend_from_slice(b",\"attributes\":{");
            for (index, (name, value)) in self.attributes.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_str(out, name);
                out.push(b':');
                write_str(out, value);
            }
            out.push(b'}');
        }
        optional_str(out, b",\"orderingKey\":", self.ordering_key.as_deref());
        out.extend_from_slice(b",\"priority\":");
        write_number(out, self.priority);
        out.extend_from_slice(b",\"publishTime\":");
        write_str(out, &self.publish_time);
        optional_str(out, b",\"deliverTime\":", self.deliver_time.as_deref());
        optional_str(out, b",\"expireTime\":", self.expire_time.as_deref());
        out.extend_from_slice(b",\"partition\":");
        write_number(out, self.partition);
        out.extend_from_slice(b",\"offset\":");
        write_number(out, self.offset);
        out.push(b'}');
    }
}

/// A JSON string: copied as it is when no byte needs an escape (a control
/// character, `"` or `\`), else escaped by `serde_json`.
fn write_str(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, text).expect("serde_json writes any &str to a Vec");
    }
}

/// `key` (the comma, the name and the colon) and the string, when there is one.
fn optional_str(out: &mut Vec<u8>, key: &[u8], value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(key);
        write_str(out, value);
    }
}

/// The data as a base64 string: its alphabet needs no escape.
fn write_data(out: &mut Vec<u8>, data: &Data) {
    let start = out.len() + 1;
    let encoded = base64::encoded_len(data.len(), true).expect("a payload's base64 fits in memory");
    // The opening quote, room for the encoding, the closing quote.
    out.resize(start + encoded + 1, b'"');
    STANDARD
        .encode_slice(&data.0, &mut out[start..start + encoded])
        .expect("the room is the encoded length");
}

fn write_number(out: &mut Vec<u8>, number: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::frames::ServerFrame;

    /// Strings of any characters: `any::<String>()` leaves out control
    /// characters, the ones that need `\u00XX` escapes.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::char::any(), 0..24).prop_map(String::from_iter)
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            (
                text(),
                proptest::collection::vec(any::<u8>(), 0..600),
                proptest::collection::btree_map(text(), text(), 0..4),
                proptest::option::of(text()),
                any::<u8>(),
            ),
            (
                text(),
                proptest::option::of(text()),
                proptest::option::of(text()),
                any::<u32>(),
                any::<u64>(),
            ),
        )
            .prop_map(
                |(
                    (message_id, data, attributes, ordering_key, priority),
                    (publish_time, deliver_time, expire_time, partition, offset),
                )| Message {
                    message_id,
                    data: Data::from(data),
                    attributes,
                    ordering_key,
                    priority,
                    publish_time,
                    deliver_time,
                    expire_time,
                    partition,
                    offset,
                },
            )
    }

    fn received() -> impl Strategy<Value = ReceivedMessage> {
        (
            text(),
            message(),
            any::<u32>(),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(
                |(ack_id, message, delivery_attempt, generation)| ReceivedMessage {
                    ack_id,
                    message,
                    delivery_attempt,
                    generation,
                },
            )
    }

    fn as_text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("JSON is UTF-8")
    }

    proptest! {
        #[test]
        fn a_pull_answer_is_what_serde_json_writes(
            received_messages in proptest::collection::vec(received(), 0..4)
        ) {
            let response = PullResponse { received_messages };
            let expected = serde_json::to_string(&response).expect("serializes");
            prop_assert_eq!(as_text(response.to_json()), expected);
        }

        #[test]
        fn a_stream_frame_is_what_serde_json_writes(received in received()) {
            let text = ServerFrame::message_text(&received);
            let expected = serde_json::to_string(&ServerFrame::from(received)).expect("serializes");
            prop_assert_eq!(text, expected);
        }
    }

    #[test]
    fn strings_that_need_escapes_are_escaped() {
        let message = Message {
            message_id: "0-1".to_owned(),
            data: Data::from("hi"),
            attributes: BTreeMap::from([("q\"uote".to_owned(), "back\\slash\n\u{1}".to_owned())]),
            ordering_key: Some("ключ\t".to_owned()),
            priority: 4,
            publish_time: "2026-12-07T05:00:00.000Z".to_owned(),
            deliver_time: None,
            expire_time: None,
            partition: 0,
            offset: 1,
        };
        let mut out = Vec::new();
        message.write_json(&mut out);
        assert_eq!(
            as_text(out),
            r#"{"messageId":"0-1","data":"aGk=","attributes":{"q\"uote":"back\\slash\n\u0001"},"orderingKey":"ключ\t","priority":4,"publishTime":"2026-12-07T05:00:00.000Z","partition":0,"offset":1}"#
        );
    }

    #[test]
    fn only_control_characters_quotes_and_backslashes_are_escaped() {
        for text in ["\u{1f}", " ", "\u{7f}", "\u{80}", "é", "\"", "\\", "/"] {
            let mut out = Vec::new();
            write_str(&mut out, text);
            let expected = serde_json::to_string(text).expect("serializes");
            assert_eq!(as_text(out), expected, "{text:?}");
        }
    }

    #[test]
    fn an_empty_pull_answer() {
        assert_eq!(
            as_text(PullResponse::default().to_json()),
            r#"{"receivedMessages":[]}"#
        );
    }
}

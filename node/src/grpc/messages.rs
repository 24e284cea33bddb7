//! Messages, times and durations between Google's protobuf types and the
//! broker's.
//!
//! A published message keeps its data, attributes and ordering key; the
//! `message_id` and `publish_time` a publisher sets are output-only fields in
//! Google's API and are replaced by the broker's. A delivered message carries
//! the broker's message id (`<partition>-<offset>` style ids are the broker's,
//! unchanged), its publish time, and `delivery_attempt` only when the
//! subscription has a dead-letter policy, as Google does.

use api::duration::Duration as ApiDuration;
use api::timestamp::Timestamp as ApiTimestamp;
use api::types::{Message, PublishMessage, ReceivedMessage as ApiReceived};
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{PubsubMessage, ReceivedMessage};
use prost_types::{Duration, Timestamp};
use tonic::Status;

const NANOS_PER_MILLI: i64 = 1_000_000;

/// A message to publish, as the broker takes it.
pub fn to_publish(message: PubsubMessage) -> PublishMessage {
    PublishMessage {
        data: message.data.into(),
        attributes: message.attributes.into_iter().collect(),
        ordering_key: Some(message.ordering_key).filter(|key| !key.is_empty()),
        ..PublishMessage::default()
    }
}

/// A delivery as Google's clients read it; `with_attempt` when the
/// subscription counts attempts for a dead-letter policy.
pub fn to_received(received: ApiReceived, with_attempt: bool) -> ReceivedMessage {
    ReceivedMessage {
        ack_id: received.ack_id,
        delivery_attempt: if with_attempt {
            i32::try_from(received.delivery_attempt).unwrap_or(i32::MAX)
        } else {
            0
        },
        message: Some(to_pubsub(received.message)),
    }
}

fn to_pubsub(message: Message) -> PubsubMessage {
    PubsubMessage {
        data: message.data.0.to_vec(),
        attributes: message.attributes.into_iter().collect(),
        message_id: message.message_id,
        publish_time: message
            .publish_time
            .parse::<ApiTimestamp>()
            .ok()
            .map(|t| timestamp(t.0)),
        ordering_key: message.ordering_key.unwrap_or_default(),
    }
}

/// Unix milliseconds as a protobuf timestamp.
pub fn timestamp(millis: u64) -> Timestamp {
    let (seconds, nanos) = split_millis(millis);
    Timestamp { seconds, nanos }
}

/// A protobuf timestamp as RFC 3339, the broker's seek time.
pub fn rfc3339(field: &str, time: &Timestamp) -> Result<String, Status> {
    let millis = join_millis(time.seconds, time.nanos)
        .ok_or_else(|| Status::invalid_argument(format!("{field} is not a valid time")))?;
    Ok(ApiTimestamp(millis).to_string())
}

/// A protobuf duration as the broker's.
pub fn to_duration(field: &str, duration: &Duration) -> Result<ApiDuration, Status> {
    let millis = join_millis(duration.seconds, duration.nanos)
        .ok_or_else(|| Status::invalid_argument(format!("{field} is not a valid duration")))?;
    Ok(ApiDuration::from_millis(millis))
}

/// The broker's duration as a protobuf duration.
pub fn from_duration(duration: &ApiDuration) -> Duration {
    let (seconds, nanos) = split_millis(duration.as_millis());
    Duration { seconds, nanos }
}

/// Milliseconds as protobuf's seconds and nanoseconds.
fn split_millis(millis: u64) -> (i64, i32) {
    let millis = i64::try_from(millis).unwrap_or(i64::MAX);
    let nanos = i32::try_from((millis % 1000) * NANOS_PER_MILLI).unwrap_or(0);
    (millis / 1000, nanos)
}

/// Protobuf's seconds and nanoseconds as milliseconds; `None` when negative
/// or out of range.
fn join_millis(seconds: i64, nanos: i32) -> Option<u64> {
    if !(0..1_000_000_000).contains(&nanos) {
        return None;
    }
    let millis = seconds
        .checked_mul(1000)?
        .checked_add(i64::from(nanos) / NANOS_PER_MILLI)?;
    u64::try_from(millis).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let t = timestamp(1_764_000_000_123);
        assert_eq!((t.seconds, t.nanos), (1_764_000_000, 123_000_000));
        let text = rfc3339("time", &t).expect("valid");
        assert_eq!(
            text.parse::<ApiTimestamp>().expect("parses").0,
            1_764_000_000_123
        );
        let bad = Timestamp {
            seconds: -5,
            nanos: 0,
        };
        assert!(rfc3339("time", &bad).is_err());
    }

    #[test]
    fn durations_round_trip() {
        let d = Duration {
            seconds: 2,
            nanos: 500_000_000,
        };
        let broker = to_duration("d", &d).expect("valid");
        assert_eq!(broker.as_millis(), 2500);
        assert_eq!(from_duration(&broker), d);
    }
}

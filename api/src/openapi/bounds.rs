//! The patterns and bounds the server enforces, written into the schemas so a
//! request the document calls valid is one the server takes (and the other
//! way round). Each comes from the constant or validator that enforces it;
//! `utoipa`'s attributes take only literals, so they are set here.
//!
//! What JSON Schema cannot say is left to descriptions: sizes counted in UTF-8
//! bytes (JSON Schema counts characters; the bounds below are exact for
//! ASCII), limits set per topic (`maxMessageBytes`), and that
//! `minimumBackoff` may not exceed `maximumBackoff`.

use cluster::MemberId;
use cluster::group::{MAX_SESSION_TIMEOUT_SECONDS, MIN_SESSION_TIMEOUT_SECONDS};
use cluster::names::name_pattern;
use cluster::push::{
    MAX_PUSH_ENDPOINT_BYTES, MAX_PUSH_MAX_OUTSTANDING, MAX_PUSH_SECRET_BYTES,
    MIN_PUSH_MAX_OUTSTANDING,
};
use cluster::subscription::{
    MAX_ACK_DEADLINE_SECONDS, MAX_BACKOFF_MILLIS, MAX_DELIVERY_ATTEMPTS, MIN_ACK_DEADLINE_SECONDS,
    MIN_DELIVERY_ATTEMPTS,
};
use cluster::topic::{MAX_DEDUP_WINDOW_MILLIS, MAX_MESSAGE_BYTES, MAX_PARTITIONS};
use serde_json::{Value, json};

use super::patterns::{duration_at_most, number_between, positive_duration};
use crate::limits;
use crate::stream::Encoding;
use crate::types::AckLevel;

/// Canonical padded base64 (the standard alphabet), as `data` is decoded.
const BASE64: &str =
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";

/// RFC 3339 times the server takes: it counts milliseconds since 1970 and
/// refuses earlier times, and an offset may move a time in 1970 before it.
const TIME_SINCE_1971: &str = "^(?:197[1-9]|19[89][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$";

/// Writes every bound into `document`, for a node whose storage acknowledges
/// at `storage_ack_level` by default.
pub(super) fn add(document: &mut Value, storage_ack_level: AckLevel) {
    for (name, bound) in parameter_bounds() {
        set_parameter(document, name, bound);
    }
    let schemas = &mut document["components"]["schemas"];
    for (schema, property, bound) in property_bounds(storage_ack_level) {
        merge(property_mut(schemas, schema, property), bound);
    }
    // A message needs data or an attribute.
    merge(
        &mut schemas["PublishMessage"],
        json!({ "anyOf": [
            { "required": ["data"], "properties": { "data": { "minLength": 1 } } },
            { "required": ["attributes"], "properties": { "attributes": { "minProperties": 1 } } },
        ] }),
    );
    // Exactly one of time and position.
    merge(
        &mut schemas["SeekRequest"],
        json!({ "oneOf": [
            { "required": ["time"], "properties": { "time": { "type": "string" } } },
            { "required": ["position"], "properties": { "position": { "type": "string" } } },
        ] }),
    );
}

/// Path, query and header parameters, by name (in every operation that has one).
fn parameter_bounds() -> Vec<(&'static str, Value)> {
    let name = name_pattern();
    vec![
        ("topic", json!({ "pattern": name })),
        ("subscription", json!({ "pattern": name })),
        ("pageToken", json!({ "pattern": format!("^$|{name}") })),
        ("pageSize", between(1, limits::MAX_PAGE_SIZE)),
        ("maxMessages", between(1, limits::MAX_LIST_DEAD_LETTERS)),
        ("memberId", json!({ "pattern": MemberId::pattern() })),
        (
            "encoding",
            json!({ "enum": [Encoding::Json.name(), Encoding::Binary.name()] }),
        ),
        (
            "Idempotency-Key",
            json!({ "pattern": format!("^[!-~]{{1,{}}}$", limits::MAX_IDEMPOTENCY_KEY_BYTES) }),
        ),
        // The WebSocket handshake, as axum's `WebSocketUpgrade` checks it.
        (
            "Upgrade",
            json!({ "pattern": format!("^{}$", any_case("websocket")) }),
        ),
        (
            "Connection",
            json!({ "pattern": format!("^.*{}.*$", any_case("upgrade")) }),
        ),
        ("Sec-WebSocket-Version", json!({ "enum": ["13"] })),
    ]
}

/// Properties of request bodies: `(schema, property, bound)`.
fn property_bounds(storage_ack_level: AckLevel) -> Vec<(&'static str, &'static str, Value)> {
    let name = json!({ "pattern": name_pattern() });
    let member = json!({ "pattern": MemberId::pattern() });
    let max_backoff = json!({ "pattern": duration_at_most(MAX_BACKOFF_MILLIS / 1000) });
    let ack_ids = json!({
        "minItems": 1,
        "maxItems": limits::MAX_ACK_IDS,
        "items": { "type": "string", "pattern": ack_id_pattern() },
    });
    let time = json!({ "format": "date-time", "pattern": TIME_SINCE_1971 });
    let ack_deadline = between(MIN_ACK_DEADLINE_SECONDS, MAX_ACK_DEADLINE_SECONDS);
    vec![
        (
            "CreateTopicRequest",
            "partitions",
            between(1, MAX_PARTITIONS),
        ),
        (
            "CreateTopicRequest",
            "maxMessageBytes",
            between(1, MAX_MESSAGE_BYTES),
        ),
        (
            "CreateTopicRequest",
            "dedupWindow",
            json!({ "pattern": duration_at_most(MAX_DEDUP_WINDOW_MILLIS / 1000) }),
        ),
        (
            "CreateTopicRequest",
            "ackLevel",
            json!({ "pattern": ack_level_pattern(storage_ack_level) }),
        ),
        (
            "RetentionSpec",
            "maxAge",
            json!({ "pattern": positive_duration() }),
        ),
        (
            "RetentionSpec",
            "maxBytesPerPartition",
            json!({ "minimum": 1 }),
        ),
        (
            "RetentionSpec",
            "maxMessagesPerPartition",
            json!({ "minimum": 1 }),
        ),
        (
            "PublishRequest",
            "messages",
            json!({ "minItems": 1, "maxItems": limits::MAX_BATCH_MESSAGES }),
        ),
        ("PublishMessage", "data", json!({ "pattern": BASE64 })),
        (
            "PublishMessage",
            "attributes",
            json!({
                "maxProperties": limits::MAX_ATTRIBUTES,
                "propertyNames": { "minLength": 1, "maxLength": limits::MAX_ATTRIBUTE_KEY_BYTES },
                "additionalProperties": { "type": "string", "maxLength": limits::MAX_ATTRIBUTE_VALUE_BYTES },
            }),
        ),
        (
            "PublishMessage",
            "orderingKey",
            json!({ "maxLength": limits::MAX_ORDERING_KEY_BYTES }),
        ),
        (
            "PublishMessage",
            "priority",
            between(0, u32::from(limits::MAX_PRIORITY)),
        ),
        (
            "PublishMessage",
            "deliverAfter",
            json!({ "pattern": duration_at_most(limits::MAX_DELIVER_AFTER_SECONDS) }),
        ),
        (
            "PublishMessage",
            "ttl",
            json!({ "pattern": positive_duration() }),
        ),
        ("CreateSubscriptionRequest", "topic", name.clone()),
        (
            "CreateSubscriptionRequest",
            "ackDeadlineSeconds",
            ack_deadline.clone(),
        ),
        ("RetryPolicySpec", "minimumBackoff", max_backoff.clone()),
        ("RetryPolicySpec", "maximumBackoff", max_backoff),
        ("DeadLetterPolicySpec", "deadLetterTopic", name),
        (
            "DeadLetterPolicySpec",
            "maxDeliveryAttempts",
            between(MIN_DELIVERY_ATTEMPTS, MAX_DELIVERY_ATTEMPTS),
        ),
        (
            "PushConfig",
            "endpoint",
            json!({ "pattern": push_endpoint_pattern(), "maxLength": MAX_PUSH_ENDPOINT_BYTES }),
        ),
        (
            "PushConfig",
            "maxOutstanding",
            between(MIN_PUSH_MAX_OUTSTANDING, MAX_PUSH_MAX_OUTSTANDING),
        ),
        (
            "PushConfig",
            "secret",
            json!({ "minLength": 1, "maxLength": MAX_PUSH_SECRET_BYTES }),
        ),
        (
            "PullRequest",
            "maxMessages",
            between(1, limits::MAX_PULL_MESSAGES),
        ),
        (
            "PullRequest",
            "waitSeconds",
            between(0, limits::MAX_PULL_WAIT_SECONDS),
        ),
        ("PullRequest", "memberId", member.clone()),
        ("AckIdsRequest", "ackIds", ack_ids.clone()),
        ("NackRequest", "ackIds", ack_ids.clone()),
        ("ModifyAckDeadlineRequest", "ackIds", ack_ids),
        (
            "NackRequest",
            "delaySeconds",
            between(0, limits::MAX_NACK_DELAY_SECONDS),
        ),
        (
            "NackRequest",
            "reason",
            json!({ "maxLength": limits::MAX_NACK_REASON_BYTES }),
        ),
        // 0 nacks; anything else is a new deadline.
        (
            "ModifyAckDeadlineRequest",
            "ackDeadlineSeconds",
            json!({ "anyOf": [{ "const": 0 }, ack_deadline] }),
        ),
        (
            "RedriveRequest",
            "maxMessages",
            between(1, limits::MAX_REDRIVE_MESSAGES),
        ),
        (
            "RedriveRequest",
            "ratePerSecond",
            between(1, limits::MAX_REDRIVE_RATE),
        ),
        ("RedriveRequest", "publishedAfter", time.clone()),
        ("RedriveRequest", "publishedBefore", time.clone()),
        ("SeekRequest", "time", time),
        (
            "JoinGroupRequest",
            "sessionTimeoutSeconds",
            between(MIN_SESSION_TIMEOUT_SECONDS, MAX_SESSION_TIMEOUT_SECONDS),
        ),
        ("HeartbeatRequest", "memberId", member.clone()),
        ("LeaveGroupRequest", "memberId", member),
    ]
}

/// `text` in any case: `[Ww][Ee]...`.
fn any_case(text: &str) -> String {
    text.chars()
        .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
        .collect()
}

/// Ack ids are opaque, but only strings of this shape can be one: four
/// dot-separated numbers (partition, offset, attempt from 1, owner epoch).
/// An ack id of this shape may still name a partition its topic lacks (`400
/// INVALID_ACK_ID`): the partition count is set per topic.
pub fn ack_id_pattern() -> String {
    let partition = number_between(0, u64::from(u32::MAX));
    let attempt = number_between(1, u64::from(u32::MAX));
    let offset = number_between(0, u64::MAX);
    format!("^{partition}\\.{offset}\\.{attempt}\\.{offset}$")
}

fn between(low: u32, high: u32) -> Value {
    json!({ "minimum": low, "maximum": high })
}

/// The ack levels a topic may ask for: the one of memory storage, or the
/// Redis ones (`replicated:N` with N a positive `u32`).
fn ack_level_pattern(storage_ack_level: AckLevel) -> String {
    match storage_ack_level {
        AckLevel::Memory => format!("^{}$", AckLevel::Memory),
        AckLevel::Leader | AckLevel::Replicated(_) | AckLevel::Fsynced => format!(
            "^(?:{}|{}|replicated:{})$",
            AckLevel::Leader,
            AckLevel::Fsynced,
            number_between(1, u64::from(u32::MAX))
        ),
    }
}

/// `http://` or `https://`, a host name (its last label starting with a
/// letter, so the URL parser never reads it as an IPv4 address), an optional
/// port and path: URLs that `cluster`'s validator and the URL parser both
/// take (stricter than either, so the document never promises what they refuse).
fn push_endpoint_pattern() -> String {
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let last_label = "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let port = number_between(0, u64::from(u16::MAX));
    format!(
        "^[Hh][Tt][Tt][Pp][Ss]?://(?:{label}\\.)*{last_label}(?::{port})?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$"
    )
}

/// Every parameter called `name`, in every operation.
fn set_parameter(document: &mut Value, name: &str, bound: Value) {
    let mut found = false;
    let paths = document["paths"].as_object_mut().into_iter().flatten();
    for (_, item) in paths {
        let operations = item.as_object_mut().into_iter().flatten();
        for (_, operation) in operations {
            let parameters = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten();
            for parameter in parameters.filter(|p| p["name"] == name) {
                merge(&mut parameter["schema"], bound.clone());
                found = true;
            }
        }
    }
    assert!(found, "no operation has a parameter {name}");
}

fn property_mut<'a>(schemas: &'a mut Value, schema: &str, property: &str) -> &'a mut Value {
    schemas
        .get_mut(schema)
        .and_then(|s| s.get_mut("properties"))
        .and_then(|p| p.get_mut(property))
        .unwrap_or_else(|| panic!("the document has no property {schema}.{property}"))
}

/// Adds `bound`'s keywords to `schema`. A property that may be null (an
/// `Option`) is `oneOf: [null, the schema]` or carries `type: [.., "null"]`;
/// keywords of numbers and strings only apply to their own type, so they
/// can sit beside either.
fn merge(schema: &mut Value, bound: Value) {
    let (Some(target), Value::Object(keywords)) = (schema.as_object_mut(), bound) else {
        unreachable!("schemas and bounds are JSON objects");
    };
    target.extend(keywords);
}

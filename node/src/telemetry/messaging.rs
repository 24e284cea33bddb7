//! The broker's spans, named and attributed after the OpenTelemetry messaging
//! semantic conventions (`messaging.system = pubsubgo`).
//!
//! | span | kind | where |
//! |---|---|---|
//! | `publish {topic}` | producer | a publish request (`broker::publish`); stamps its context on each message that has none |
//! | `receive {subscription}` | consumer | messages leased to a pull, stream or push sender; links to each message's creation context |
//! | `process {subscription}` | consumer | one per message handed out, child of the message's creation context (so it joins the publisher's trace), linked to the `receive` span; its attempt says whether it is a redelivery |
//! | `settle {subscription}` | client | `ack`, `nack`, `modify_ack_deadline` (`messaging.operation.name`) |
//! | `forward {call}` / `serve {call}` | client / server | a storage call sent to the partition owner over the peer port / run there (`routing`) |
//! | `{COMMAND}` | client | one Redis round trip (`db.system.name = redis`; a pipeline is `PIPELINE`) |
//! | `raft propose` | internal | a metadata change proposed through Raft |
//! | `push {subscription}` | client | a POST to a push endpoint, which gets the message's `traceparent` |
//!
//! A message without trace context (published while tracing was off, and
//! without a `traceparent` attribute) gets no `process` span, so deliveries
//! cost nothing extra when tracing is off.

use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// `messaging.system` of every messaging span.
pub const SYSTEM: &str = "pubsubgo";

/// The span of one publish request to `topic` with `count` messages.
pub fn publish(topic: &str, count: usize) -> Span {
    tracing::info_span!(
        "publish",
        otel.name = format!("publish {topic}"),
        otel.kind = "producer",
        messaging.system = SYSTEM,
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = topic,
        messaging.batch.message_count = count,
    )
}

/// The span of an `operation` (`ack`, `nack`, `modify_ack_deadline`) on
/// `count` ack ids of `subscription`.
pub fn settle(subscription: &str, operation: &'static str, count: usize) -> Span {
    tracing::info_span!(
        "settle",
        otel.name = format!("settle {subscription}"),
        otel.kind = "client",
        messaging.system = SYSTEM,
        messaging.operation.type = "settle",
        messaging.operation.name = operation,
        messaging.destination.subscription.name = subscription,
        messaging.batch.message_count = count,
    )
}

/// One handed-out message: its id, delivery attempt and creation context.
#[derive(Debug)]
pub struct Delivered<'a> {
    pub id: &'a str,
    pub attempt: u32,
    pub created: Option<SpanContext>,
}

/// Records the `receive` span of a batch handed out for `subscription`, and
/// a `process` span per message that carries a creation context.
pub fn received<'a>(subscription: &str, messages: impl IntoIterator<Item = Delivered<'a>>) {
    let messages: Vec<Delivered<'a>> = messages
        .into_iter()
        .filter(|m| m.created.is_some())
        .collect();
    if messages.is_empty() {
        return;
    }
    let receive = tracing::info_span!(
        "receive",
        otel.name = format!("receive {subscription}"),
        otel.kind = "consumer",
        messaging.system = SYSTEM,
        messaging.operation.type = "receive",
        messaging.operation.name = "receive",
        messaging.destination.subscription.name = subscription,
        messaging.batch.message_count = messages.len(),
    );
    for message in &messages {
        if let Some(created) = &message.created {
            receive.add_link(created.clone());
        }
    }
    let receive_context = receive.context().span().span_context().clone();
    for message in messages {
        let Some(created) = message.created else {
            continue;
        };
        let process = tracing::info_span!(
            parent: None,
            "process",
            otel.name = format!("process {subscription}"),
            otel.kind = "consumer",
            messaging.system = SYSTEM,
            messaging.operation.type = "process",
            messaging.operation.name = "deliver",
            messaging.destination.subscription.name = subscription,
            messaging.message.id = message.id,
            messaging.pubsubgo.delivery_attempt = message.attempt,
            messaging.pubsubgo.redelivery = message.attempt > 1,
        );
        let _ = process.set_parent(opentelemetry::Context::new().with_remote_span_context(created));
        if receive_context.is_valid() {
            process.add_link(receive_context.clone());
        }
    }
}

/// The span of a push request for the message created in `created`; the
/// request carries this span's context as its `traceparent`.
pub fn push(subscription: &str, created: Option<SpanContext>) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "push",
        otel.name = format!("push {subscription}"),
        otel.kind = "client",
        messaging.system = SYSTEM,
        messaging.operation.type = "process",
        messaging.operation.name = "push",
        messaging.destination.subscription.name = subscription,
    );
    if let Some(created) = created {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(created));
    }
    span
}

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
//! | `dead_letter {subscription}` | producer | one per message moved to the dead-letter topic (`messaging.destination.name`), child of its creation context |
//!
//! A message without a sampled trace context (published while tracing was
//! off or its trace unsampled, and without a sampled `traceparent` attribute)
//! gets no `process` or `push` span of its own. `process` and `push` spans
//! set their parent explicitly (target [`sampling::TRACED`]); the others
//! follow the span they are opened in, so an unsampled request's spans are
//! never built ([`super::sampling`]).

use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::sampling;

/// `messaging.system` of every messaging span.
pub const SYSTEM: &str = "pubsubgo";

/// A messaging span: `$name` is the span's name and its operation type's
/// prefix of `otel.name` (`publish {topic}`), followed by the fields every
/// messaging span has, then the given ones. `root` spans have no contextual
/// parent (their parent is set from a context) and are always seen by the
/// OpenTelemetry layer; the others follow the current span.
macro_rules! messaging_span {
    (root $name:literal, $($rest:tt)*) => {
        messaging_span!(@ target: sampling::TRACED, parent: None, $name, $($rest)*)
    };
    ($name:literal, $($rest:tt)*) => {
        messaging_span!(@ $name, $($rest)*)
    };
    (@ $($head:ident: $value:expr,)* $name:literal, $destination:expr, $kind:literal, $type:literal, $operation:expr, $($field:tt)*) => {
        tracing::info_span!(
            $($head: $value,)*
            $name,
            otel.name = format!(concat!($name, " {}"), $destination),
            otel.kind = $kind,
            messaging.system = SYSTEM,
            messaging.operation.type = $type,
            messaging.operation.name = $operation,
            $($field)*
        )
    };
}

/// The span of one publish request to `topic` with `count` messages.
pub fn publish(topic: &str, count: usize) -> Span {
    messaging_span!(
        "publish",
        topic,
        "producer",
        "send",
        "publish",
        messaging.destination.name = topic,
        messaging.batch.message_count = count,
    )
}

/// The span of an `operation` (`ack`, `nack`, `modify_ack_deadline`) on
/// `count` ack ids of `subscription`.
pub fn settle(subscription: &str, operation: &'static str, count: usize) -> Span {
    messaging_span!(
        "settle",
        subscription,
        "client",
        "settle",
        operation,
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
/// a `process` span per message whose creation context is sampled.
pub fn received<'a>(subscription: &str, messages: impl IntoIterator<Item = Delivered<'a>>) {
    let messages: Vec<(Delivered<'a>, SpanContext)> = messages
        .into_iter()
        .filter_map(|mut m| {
            let created = m.created.take().filter(SpanContext::is_sampled)?;
            Some((m, created))
        })
        .collect();
    if messages.is_empty() {
        return;
    }
    let receive = messaging_span!(
        "receive",
        subscription,
        "consumer",
        "receive",
        "receive",
        messaging.destination.subscription.name = subscription,
        messaging.batch.message_count = messages.len(),
    );
    for (_, created) in &messages {
        receive.add_link(created.clone());
    }
    let receive_context = receive.context().span().span_context().clone();
    for (message, created) in messages {
        let process = messaging_span!(
            root "process", subscription, "consumer", "process", "deliver",
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

/// The span of a push request for the message created in `created`, when
/// that context is sampled; the request carries this span's context as its
/// `traceparent`. Otherwise no span: the request passes the message's own
/// context on as it is.
pub fn push(subscription: &str, created: Option<SpanContext>) -> Span {
    let Some(created) = created.filter(SpanContext::is_sampled) else {
        return tracing::Span::none();
    };
    let span = messaging_span!(
        root "push", subscription, "client", "process", "push",
        messaging.destination.subscription.name = subscription,
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(created));
    span
}

/// The span of moving the message created in `created` (when that context
/// is sampled) from `subscription` to `dead_letter_topic` after `attempts`
/// deliveries; no span otherwise.
pub fn dead_letter(
    subscription: &str,
    dead_letter_topic: &str,
    message: Delivered<'_>,
) -> Option<Span> {
    let created = message.created.filter(SpanContext::is_sampled)?;
    let span = messaging_span!(
        root "dead_letter", subscription, "producer", "send", "dead_letter",
        messaging.destination.name = dead_letter_topic,
        messaging.destination.subscription.name = subscription,
        messaging.message.id = message.id,
        messaging.pubsubgo.delivery_attempt = message.attempt,
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(created));
    Some(span)
}

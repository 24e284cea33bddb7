//! Generates the server side of Google Pub/Sub's `Publisher` and `Subscriber`
//! gRPC services (used by `src/grpc/`) over the message types of the
//! `googleapis-tonic-google-pubsub-v1` crate, which ships clients only. No
//! `.proto` file or `protoc` is needed: tonic-build's manual builder writes the
//! traits and routers from the method list below. Only the methods PubSubGo
//! serves are listed; every other method of these services answers
//! `UNIMPLEMENTED` (tonic's answer for an unknown route).

use tonic_build::manual::{Builder, Method, Service};

const TYPES: &str = "googleapis_tonic_google_pubsub_v1::google::pubsub::v1";

/// `(method, route, request, response, streaming)`; `Empty` is
/// `google.protobuf.Empty`, `()` in prost, named by an alias in `services.rs`
/// (the builder takes paths only).
type Rpc = (&'static str, &'static str, &'static str, &'static str, bool);

const PUBLISHER: &[Rpc] = &[
    ("create_topic", "CreateTopic", "Topic", "Topic", false),
    ("get_topic", "GetTopic", "GetTopicRequest", "Topic", false),
    (
        "list_topics",
        "ListTopics",
        "ListTopicsRequest",
        "ListTopicsResponse",
        false,
    ),
    (
        "delete_topic",
        "DeleteTopic",
        "DeleteTopicRequest",
        "Empty",
        false,
    ),
    (
        "list_topic_subscriptions",
        "ListTopicSubscriptions",
        "ListTopicSubscriptionsRequest",
        "ListTopicSubscriptionsResponse",
        false,
    ),
    (
        "publish",
        "Publish",
        "PublishRequest",
        "PublishResponse",
        false,
    ),
];

const SUBSCRIBER: &[Rpc] = &[
    (
        "create_subscription",
        "CreateSubscription",
        "Subscription",
        "Subscription",
        false,
    ),
    (
        "get_subscription",
        "GetSubscription",
        "GetSubscriptionRequest",
        "Subscription",
        false,
    ),
    (
        "list_subscriptions",
        "ListSubscriptions",
        "ListSubscriptionsRequest",
        "ListSubscriptionsResponse",
        false,
    ),
    (
        "delete_subscription",
        "DeleteSubscription",
        "DeleteSubscriptionRequest",
        "Empty",
        false,
    ),
    ("pull", "Pull", "PullRequest", "PullResponse", false),
    (
        "streaming_pull",
        "StreamingPull",
        "StreamingPullRequest",
        "StreamingPullResponse",
        true,
    ),
    (
        "acknowledge",
        "Acknowledge",
        "AcknowledgeRequest",
        "Empty",
        false,
    ),
    (
        "modify_ack_deadline",
        "ModifyAckDeadline",
        "ModifyAckDeadlineRequest",
        "Empty",
        false,
    ),
    ("seek", "Seek", "SeekRequest", "SeekResponse", false),
];

fn service(name: &str, rpcs: &[Rpc]) -> Service {
    let path = |ty: &str| {
        if ty == "Empty" {
            "super::Empty".to_owned()
        } else {
            format!("{TYPES}::{ty}")
        }
    };
    rpcs.iter()
        .fold(
            Service::builder().name(name).package("google.pubsub.v1"),
            |service, (method, route, input, output, streaming)| {
                let builder = Method::builder()
                    .name(*method)
                    .route_name(*route)
                    .input_type(path(input))
                    .output_type(path(output))
                    .codec_path("tonic_prost::ProstCodec");
                let builder = if *streaming {
                    builder.client_streaming().server_streaming()
                } else {
                    builder
                };
                service.method(builder.build())
            },
        )
        .build()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    Builder::new()
        .build_client(false)
        .build_transport(false)
        .compile(&[
            service("Publisher", PUBLISHER),
            service("Subscriber", SUBSCRIBER),
        ]);
}

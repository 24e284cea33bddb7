//! Declarations of each operation, read by `utoipa`; never called.
//!
//! Each lists its success answer and the errors only it can give; `problems`
//! adds the ones every operation of a kind shares (a bad parameter or body,
//! storage and consensus failures) and serves them all as problem+json.
//! Patterns and bounds come from `bounds`.

#![allow(
    dead_code,
    reason = "these functions exist only to carry #[utoipa::path] attributes"
)]

use utoipa::IntoParams;

use crate::error::Problem;
use crate::types::*;

/// The headers of a WebSocket opening handshake (RFC 6455), as the server
/// checks them: without them, a `GET` of `:stream` or `:publishStream` is `400`.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct WebSocketHandshake {
    /// `websocket`, in any case.
    #[param(rename = "Upgrade")]
    upgrade: String,
    /// A token list holding `upgrade`, in any case.
    #[param(rename = "Connection")]
    connection: String,
    #[param(rename = "Sec-WebSocket-Version")]
    version: String,
    /// The client's nonce; the server answers it in `Sec-WebSocket-Accept`.
    #[param(rename = "Sec-WebSocket-Key")]
    key: String,
}

#[utoipa::path(put, path = "/v1/topics/{topic}", tag = "topics",
    params(("topic" = String, Path)),
    request_body = CreateTopicRequest,
    responses((status = 200, body = Topic), (status = 409, body = Problem, description = "ALREADY_EXISTS")))]
pub fn create_topic() {}

#[utoipa::path(get, path = "/v1/topics", tag = "topics",
    params(("pageSize" = Option<u32>, Query), ("pageToken" = Option<String>, Query,
        description = "the `nextPageToken` of the previous page; empty for the first page")),
    responses((status = 200, body = ListTopicsResponse)))]
pub fn list_topics() {}

#[utoipa::path(get, path = "/v1/topics/{topic}", tag = "topics",
    params(("topic" = String, Path)),
    responses((status = 200, body = Topic), (status = 404, body = Problem, description = "TOPIC_NOT_FOUND")))]
pub fn get_topic() {}

#[utoipa::path(delete, path = "/v1/topics/{topic}", tag = "topics",
    params(("topic" = String, Path)),
    responses((status = 200, body = Empty), (status = 404, body = Problem, description = "TOPIC_NOT_FOUND")))]
pub fn delete_topic() {}

#[utoipa::path(post, path = "/v1/topics/{topic}:publish", tag = "topics",
    description = "The body may be compressed: `Content-Encoding: snappy` (raw block) or `lz4` (frame); \
        `identity` or none for plain JSON. Another encoding is `415`; a body that does not decompress is `400`.",
    params(("topic" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "retries within the topic's dedup window store nothing new")),
    request_body = PublishRequest,
    responses((status = 200, body = PublishResponse),
        (status = 404, body = Problem, description = "TOPIC_NOT_FOUND"),
        (status = 409, body = Problem, description = "IDEMPOTENCY_KEY_IN_USE: retry later"),
        (status = 422, body = Problem, description = "IDEMPOTENCY_KEY_REUSED with another body"),
        (status = 429, body = Problem, description = "RESOURCE_EXHAUSTED: the node's memory alarm is raised, \
            a partition of a topic with `discard: new` is full, or keyed publishes in progress fill the \
            idempotency cache; nothing was stored, retry after `Retry-After`")))]
pub fn publish() {}

#[utoipa::path(put, path = "/v1/subscriptions/{subscription}", tag = "subscriptions",
    params(("subscription" = String, Path)),
    request_body = CreateSubscriptionRequest,
    responses((status = 200, body = Subscription),
        (status = 404, body = Problem, description = "TOPIC_NOT_FOUND: the topic or the dead-letter topic"),
        (status = 409, body = Problem, description = "ALREADY_EXISTS")))]
pub fn create_subscription() {}

#[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions",
    params(("pageSize" = Option<u32>, Query), ("pageToken" = Option<String>, Query,
        description = "the `nextPageToken` of the previous page; empty for the first page")),
    responses((status = 200, body = ListSubscriptionsResponse)))]
pub fn list_subscriptions() {}

#[utoipa::path(get, path = "/v1/subscriptions/{subscription}", tag = "subscriptions",
    params(("subscription" = String, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn get_subscription() {}

#[utoipa::path(delete, path = "/v1/subscriptions/{subscription}", tag = "subscriptions",
    params(("subscription" = String, Path)),
    responses((status = 200, body = Empty), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn delete_subscription() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:pull", tag = "subscriptions",
    params(("subscription" = String, Path)),
    request_body = PullRequest,
    responses((status = 200, body = PullResponse),
        (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND, or UNKNOWN_MEMBER: join again"),
        (status = 409, body = Problem, description = "FAILED_PRECONDITION: a partitioned subscription without \
            `memberId`, a shared one with it, or a push subscription")))]
pub fn pull() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:acknowledge", tag = "subscriptions",
    params(("subscription" = String, Path)),
    request_body = AckIdsRequest,
    responses((status = 200, body = Empty),
        (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND"),
        (status = 409, body = Problem, description = "ACK_EXPIRED (exactly-once): the ack ids in `detail` were not acknowledged")))]
pub fn acknowledge() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:nack", tag = "subscriptions",
    params(("subscription" = String, Path)),
    request_body = NackRequest,
    responses((status = 200, body = Empty), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn nack() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:seek", tag = "subscriptions",
    params(("subscription" = String, Path)),
    request_body = SeekRequest,
    responses((status = 200, body = Empty), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn seek() {}

#[utoipa::path(get, path = "/v1/subscriptions/{subscription}:deadLetters", tag = "dead letters",
    params(("subscription" = String, Path), ("maxMessages" = Option<u32>, Query)),
    responses((status = 200, body = ListDeadLettersResponse), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn dead_letters() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:redrive", tag = "dead letters",
    params(("subscription" = String, Path)),
    request_body = RedriveRequest,
    responses((status = 200, body = RedriveResponse), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn redrive() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:resumeOrderingKey", tag = "dead letters",
    params(("subscription" = String, Path)),
    request_body = ResumeKeyRequest,
    responses((status = 200, body = ResumeKeyResponse), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn resume_ordering_key() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:modifyAckDeadline", tag = "subscriptions",
    params(("subscription" = String, Path)),
    request_body = ModifyAckDeadlineRequest,
    responses((status = 200, body = Empty), (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND")))]
pub fn modify_ack_deadline() {}

#[utoipa::path(get, path = "/v1/subscriptions/{subscription}:stream", tag = "subscriptions",
    description = "WebSocket upgrade. Client frames: ClientFrame; server frames: ServerFrame \
        (JSON text), or with encoding=binary one binary deliveries frame per lease (see docs/api.md, Binary frames).",
    params(("subscription" = String, Path),
        ("memberId" = Option<String>, Query, description = "required on partitioned subscriptions: the consuming member"),
        ("encoding" = Option<String>, Query, description = "json (default) or binary deliveries"),
        WebSocketHandshake),
    responses((status = 101, description = "switching to WebSocket"),
        (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND, or UNKNOWN_MEMBER"),
        (status = 409, body = Problem, description = "FAILED_PRECONDITION: a partitioned subscription without \
            `memberId`, a shared one with it, or a push subscription")))]
pub fn stream() {}

#[utoipa::path(get, path = "/v1/topics/{topic}:publishStream", tag = "topics",
    description = "WebSocket upgrade for publishing. Client frames: PublishFrame (JSON text) or binary \
        publish frames; server frames: PublishAnswer (JSON text) or binary published frames, one per \
        publish, in the order sent (see docs/api.md, WebSocket publish stream).",
    params(("topic" = String, Path), WebSocketHandshake),
    responses((status = 101, description = "switching to WebSocket"),
        (status = 404, body = Problem, description = "TOPIC_NOT_FOUND")))]
pub fn publish_stream() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:join", tag = "consumer groups",
    params(("subscription" = String, Path, description = "a partitioned subscription")),
    request_body = JoinGroupRequest,
    responses((status = 200, body = JoinGroupResponse),
        (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND"),
        (status = 409, body = Problem, description = "FAILED_PRECONDITION: the subscription is shared"),
        (status = 429, body = Problem, description = "RESOURCE_EXHAUSTED: the group is full")))]
pub fn join_group() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:heartbeat", tag = "consumer groups",
    params(("subscription" = String, Path)),
    request_body = HeartbeatRequest,
    responses((status = 200, body = HeartbeatResponse),
        (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND, or UNKNOWN_MEMBER: join again"),
        (status = 409, body = Problem, description = "FAILED_PRECONDITION: the subscription is shared, \
            or `generation` is newer than the group's")))]
pub fn heartbeat() {}

#[utoipa::path(post, path = "/v1/subscriptions/{subscription}:leave", tag = "consumer groups",
    params(("subscription" = String, Path)),
    request_body = LeaveGroupRequest,
    responses((status = 200, body = Empty),
        (status = 404, body = Problem, description = "SUBSCRIPTION_NOT_FOUND, or UNKNOWN_MEMBER"),
        (status = 409, body = Problem, description = "FAILED_PRECONDITION: the subscription is shared")))]
pub fn leave_group() {}

#[utoipa::path(get, path = "/v1/cluster", tag = "cluster",
    responses((status = 200, body = ClusterStatus)))]
pub fn cluster_status() {}

#[utoipa::path(post, path = "/v1/cluster:rebalance", tag = "cluster",
    description = "Moves every partition to its rendezvous owner over the live nodes, each with a new epoch. \
        No body, or an empty one, is a real rebalance; `dryRun` answers the plan and moves nothing.",
    request_body = RebalanceRequest,
    responses((status = 200, body = RebalanceResponse)))]
pub fn rebalance() {}

#[utoipa::path(delete, path = "/v1/cluster/nodes/{id}", tag = "cluster",
    description = "Forgets a node before it is scaled away; its partitions move to the live nodes.",
    params(("id" = u64, Path, description = "the node's Raft id")),
    responses((status = 200, body = RemoveNodeResponse),
        (status = 404, body = Problem, description = "NOT_FOUND: no such node"),
        (status = 409, body = Problem, description = "FAILED_PRECONDITION: it is the last voter")))]
pub fn remove_node() {}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health),
        (status = 503, body = Problem, description = "UNAVAILABLE: not ready, `detail` says why")))]
pub fn readyz() {}

#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, body = Object, description = "this document")))]
pub fn openapi() {}

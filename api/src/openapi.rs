//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the types.
//!
//! The `:verb` endpoints cannot be axum routes of their own (axum allows one
//! parameter per segment), so operations are declared here, next to the types
//! they use, rather than on the server's handlers.

use utoipa::OpenApi;

use crate::error::Problem;
use crate::frames::{ClientFrame, PublishAnswer, PublishFrame, ServerFrame};
use crate::push::PushRequest;
use crate::types::*;

/// Declarations of each operation, read by `utoipa`; never called.
#[allow(
    dead_code,
    reason = "these functions exist only to carry #[utoipa::path] attributes"
)]
mod operations {
    use super::*;

    #[utoipa::path(put, path = "/v1/topics/{topic}", tag = "topics",
        params(("topic" = String, Path, description = "[A-Za-z][A-Za-z0-9._-]{2,254}")),
        request_body = CreateTopicRequest,
        responses((status = 200, body = Topic), (status = 400, body = Problem), (status = 409, body = Problem)))]
    fn create_topic() {}

    #[utoipa::path(get, path = "/v1/topics", tag = "topics",
        params(("pageSize" = Option<u32>, Query), ("pageToken" = Option<String>, Query)),
        responses((status = 200, body = ListTopicsResponse)))]
    fn list_topics() {}

    #[utoipa::path(get, path = "/v1/topics/{topic}", tag = "topics",
        params(("topic" = String, Path)),
        responses((status = 200, body = Topic), (status = 404, body = Problem)))]
    fn get_topic() {}

    #[utoipa::path(delete, path = "/v1/topics/{topic}", tag = "topics",
        params(("topic" = String, Path)),
        responses((status = 200, body = Empty), (status = 404, body = Problem)))]
    fn delete_topic() {}

    #[utoipa::path(post, path = "/v1/topics/{topic}:publish", tag = "topics",
        params(("topic" = String, Path),
            ("Idempotency-Key" = Option<String>, Header, description = "retries within the topic's dedup window store nothing new"),
            ("Content-Encoding" = Option<String>, Header, description = "identity, snappy (raw block) or lz4 (frame)")),
        request_body = PublishRequest,
        responses((status = 200, body = PublishResponse), (status = 400, body = Problem),
            (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)))]
    fn publish() {}

    #[utoipa::path(put, path = "/v1/subscriptions/{subscription}", tag = "subscriptions",
        params(("subscription" = String, Path)),
        request_body = CreateSubscriptionRequest,
        responses((status = 200, body = Subscription), (status = 400, body = Problem),
            (status = 404, body = Problem), (status = 409, body = Problem)))]
    fn create_subscription() {}

    #[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions",
        params(("pageSize" = Option<u32>, Query), ("pageToken" = Option<String>, Query)),
        responses((status = 200, body = ListSubscriptionsResponse)))]
    fn list_subscriptions() {}

    #[utoipa::path(get, path = "/v1/subscriptions/{subscription}", tag = "subscriptions",
        params(("subscription" = String, Path)),
        responses((status = 200, body = Subscription), (status = 404, body = Problem)))]
    fn get_subscription() {}

    #[utoipa::path(delete, path = "/v1/subscriptions/{subscription}", tag = "subscriptions",
        params(("subscription" = String, Path)),
        responses((status = 200, body = Empty), (status = 404, body = Problem)))]
    fn delete_subscription() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:pull", tag = "subscriptions",
        params(("subscription" = String, Path)),
        request_body = PullRequest,
        responses((status = 200, body = PullResponse), (status = 404, body = Problem)))]
    fn pull() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:acknowledge", tag = "subscriptions",
        params(("subscription" = String, Path)),
        request_body = AckIdsRequest,
        responses((status = 200, body = Empty), (status = 400, body = Problem)))]
    fn acknowledge() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:nack", tag = "subscriptions",
        params(("subscription" = String, Path)),
        request_body = NackRequest,
        responses((status = 200, body = Empty), (status = 400, body = Problem)))]
    fn nack() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:seek", tag = "subscriptions",
        params(("subscription" = String, Path)),
        request_body = SeekRequest,
        responses((status = 200, body = Empty), (status = 400, body = Problem), (status = 404, body = Problem)))]
    fn seek() {}

    #[utoipa::path(get, path = "/v1/subscriptions/{subscription}:deadLetters", tag = "dead letters",
        params(("subscription" = String, Path), ("maxMessages" = Option<u32>, Query)),
        responses((status = 200, body = ListDeadLettersResponse), (status = 404, body = Problem)))]
    fn dead_letters() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:redrive", tag = "dead letters",
        params(("subscription" = String, Path)),
        request_body = RedriveRequest,
        responses((status = 200, body = RedriveResponse), (status = 400, body = Problem), (status = 404, body = Problem)))]
    fn redrive() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:resumeOrderingKey", tag = "dead letters",
        params(("subscription" = String, Path)),
        request_body = ResumeKeyRequest,
        responses((status = 200, body = ResumeKeyResponse), (status = 404, body = Problem)))]
    fn resume_ordering_key() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:modifyAckDeadline", tag = "subscriptions",
        params(("subscription" = String, Path)),
        request_body = ModifyAckDeadlineRequest,
        responses((status = 200, body = Empty), (status = 400, body = Problem)))]
    fn modify_ack_deadline() {}

    #[utoipa::path(get, path = "/v1/subscriptions/{subscription}:stream", tag = "subscriptions",
        description = "WebSocket upgrade. Client frames: ClientFrame; server frames: ServerFrame \
            (JSON text), or with encoding=binary one binary deliveries frame per lease (see the README, Binary frames).",
        params(("subscription" = String, Path),
            ("memberId" = Option<String>, Query, description = "required on partitioned subscriptions: the consuming member"),
            ("encoding" = Option<String>, Query, description = "json (default) or binary deliveries")),
        responses((status = 101, description = "switching to WebSocket"), (status = 400, body = Problem),
            (status = 404, body = Problem)))]
    fn stream() {}

    #[utoipa::path(get, path = "/v1/topics/{topic}:publishStream", tag = "topics",
        description = "WebSocket upgrade for publishing. Client frames: PublishFrame (JSON text) or binary \
            publish frames; server frames: PublishAnswer (JSON text) or binary published frames, one per \
            publish, in the order sent (see the README, WebSocket publish stream).",
        params(("topic" = String, Path)),
        responses((status = 101, description = "switching to WebSocket"), (status = 400, body = Problem),
            (status = 404, body = Problem)))]
    fn publish_stream() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:join", tag = "consumer groups",
        params(("subscription" = String, Path, description = "a partitioned subscription")),
        request_body = JoinGroupRequest,
        responses((status = 200, body = JoinGroupResponse), (status = 400, body = Problem),
            (status = 404, body = Problem), (status = 429, body = Problem)))]
    fn join_group() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:heartbeat", tag = "consumer groups",
        params(("subscription" = String, Path)),
        request_body = HeartbeatRequest,
        responses((status = 200, body = HeartbeatResponse), (status = 400, body = Problem),
            (status = 404, body = Problem, description = "UNKNOWN_MEMBER: join again")))]
    fn heartbeat() {}

    #[utoipa::path(post, path = "/v1/subscriptions/{subscription}:leave", tag = "consumer groups",
        params(("subscription" = String, Path)),
        request_body = LeaveGroupRequest,
        responses((status = 200, body = Empty), (status = 404, body = Problem)))]
    fn leave_group() {}

    #[utoipa::path(get, path = "/v1/cluster", tag = "cluster",
        responses((status = 200, body = ClusterStatus)))]
    fn cluster_status() {}

    #[utoipa::path(post, path = "/v1/cluster:rebalance", tag = "cluster",
        description = "Moves every partition to its rendezvous owner over the live nodes, each with a new epoch. An empty body is a real rebalance; `dryRun` answers the plan and moves nothing.",
        request_body(content = RebalanceRequest, description = "optional"),
        responses((status = 200, body = RebalanceResponse), (status = 400, body = Problem),
            (status = 503, body = Problem)))]
    fn rebalance() {}

    #[utoipa::path(delete, path = "/v1/cluster/nodes/{id}", tag = "cluster",
        description = "Forgets a node before it is scaled away; its partitions move to the live nodes.",
        params(("id" = u64, Path, description = "the node's Raft id")),
        responses((status = 200, body = RemoveNodeResponse), (status = 400, body = Problem),
            (status = 404, body = Problem), (status = 503, body = Problem)))]
    fn remove_node() {}

    #[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
    fn healthz() {}

    #[utoipa::path(get, path = "/readyz", tag = "health",
        responses((status = 200, body = Health), (status = 503, body = Problem)))]
    fn readyz() {}
}

/// The whole API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "PubSubGo",
        description = "Message broker API (Google Pub/Sub v1 shapes; errors are RFC 9457 problem+json)."
    ),
    paths(
        operations::create_topic,
        operations::list_topics,
        operations::get_topic,
        operations::delete_topic,
        operations::publish,
        operations::create_subscription,
        operations::list_subscriptions,
        operations::get_subscription,
        operations::delete_subscription,
        operations::pull,
        operations::acknowledge,
        operations::nack,
        operations::modify_ack_deadline,
        operations::stream,
        operations::publish_stream,
        operations::join_group,
        operations::heartbeat,
        operations::leave_group,
        operations::seek,
        operations::dead_letters,
        operations::redrive,
        operations::resume_ordering_key,
        operations::cluster_status,
        operations::rebalance,
        operations::remove_node,
        operations::healthz,
        operations::readyz,
    ),
    components(schemas(ClientFrame, ServerFrame, PublishFrame, PublishAnswer, PushRequest))
)]
pub struct ApiDoc;

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| unreachable!("the OpenAPI document always serializes: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_lists_every_verb_endpoint() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        for path in [
            "/v1/topics/{topic}:publish",
            "/v1/topics/{topic}:publishStream",
            "/v1/subscriptions/{subscription}:pull",
            "/v1/subscriptions/{subscription}:stream",
            "/v1/subscriptions/{subscription}:join",
            "/v1/subscriptions/{subscription}:heartbeat",
            "/v1/subscriptions/{subscription}:leave",
            "/v1/subscriptions/{subscription}:seek",
            "/v1/subscriptions/{subscription}:deadLetters",
            "/v1/subscriptions/{subscription}:redrive",
            "/v1/subscriptions/{subscription}:resumeOrderingKey",
            "/v1/cluster",
            "/v1/cluster:rebalance",
            "/v1/cluster/nodes/{id}",
        ] {
            assert!(paths.contains_key(path), "missing {path}");
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert!(doc["components"]["schemas"]["PushRequest"].is_object());
        assert!(doc["components"]["schemas"]["PublishFrame"].is_object());
        for schema in [
            "RebalanceRequest",
            "RebalanceResponse",
            "RemoveNodeResponse",
            "PartitionMoveStatus",
            "ClusterNodeStatus",
            "PartitionOwnerStatus",
        ] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "missing schema {schema}"
            );
        }
    }
}

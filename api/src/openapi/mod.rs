//! The OpenAPI 3.1 document served at `/openapi.json`. Clients are generated
//! from it, so it says exactly what the server does:
//!
//! - `operations`: each operation, declared for `utoipa` next to the types it
//!   uses (the `:verb` endpoints cannot be axum routes of their own, so the
//!   declarations cannot sit on the handlers);
//! - `problems`: every error an operation can give, as `application/problem+json`;
//! - `bounds`: the name patterns and numeric bounds the server enforces, taken
//!   from the constants that enforce them;
//! - `methods`: the methods each path takes, for the server's `405` and `Allow`.
//!
//! [`document`] runs them in that order.

mod bounds;
mod methods;
mod operations;
mod patterns;
mod problems;

use serde_json::Value;
use utoipa::OpenApi;

use crate::frames::{ClientFrame, PublishAnswer, PublishFrame, ServerFrame};
use crate::push::PushRequest;
use crate::types::AckLevel;

pub use self::bounds::ack_id_pattern;
pub use self::methods::allowed_methods;

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
        operations::openapi,
    ),
    components(schemas(ClientFrame, ServerFrame, PublishFrame, PublishAnswer, PushRequest))
)]
pub struct ApiDoc;

/// The document as JSON text, for a node whose storage acknowledges at
/// `storage_ack_level` by default (it tells which ack levels topics may ask for).
pub fn document(storage_ack_level: AckLevel) -> String {
    let mut document = serde_json::to_value(ApiDoc::openapi())
        .unwrap_or_else(|e| unreachable!("the OpenAPI document always serializes: {e}"));
    problems::add(&mut document);
    add_security(&mut document);
    bounds::add(&mut document, storage_ack_level);
    mark_optional_bodies(&mut document);
    serde_json::to_string_pretty(&document)
        .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"))
}

/// The two ways to send credentials when authentication is on (see
/// `docs/security.md`): a bearer token (an API key or a JWT) or an
/// `x-api-key` header. Every operation but the public ones lists both, and
/// also `{}`: with authentication off (the default) no credentials are needed.
fn add_security(document: &mut Value) {
    document["components"]["securitySchemes"] = serde_json::json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key, or a JWT (HS256, RS256, ES256) checked against the JWKS file"
        },
        "apiKey": { "type": "apiKey", "in": "header", "name": "x-api-key" }
    });
    let paths = document["paths"].as_object_mut().into_iter().flatten();
    for (_, item) in paths {
        let operations = item.as_object_mut().into_iter().flatten();
        for (_, operation) in operations {
            let id = operation["operationId"].as_str().unwrap_or_default();
            operation["security"] = if problems::PUBLIC.contains(&id) {
                serde_json::json!([{}])
            } else {
                serde_json::json!([{ "bearer": [] }, { "apiKey": [] }, {}])
            };
        }
    }
}

/// The server reads a missing body as `{}`, so a body that may be `{}` may be
/// left out (`:pull`, `:rebalance`, ...); one with required fields, or with a
/// choice among them (`:seek` takes one of two), may not.
fn mark_optional_bodies(document: &mut Value) {
    let schemas = document["components"]["schemas"].clone();
    let paths = document["paths"].as_object_mut().into_iter().flatten();
    for (_, item) in paths {
        let operations = item.as_object_mut().into_iter().flatten();
        for (_, operation) in operations {
            let Some(body) = operation.get_mut("requestBody") else {
                continue;
            };
            let schema = body["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(|name| &schemas[name]);
            let has_required = schema
                .and_then(|s| s.get("required"))
                .and_then(Value::as_array)
                .is_some_and(|required| !required.is_empty());
            let has_choice =
                schema.is_some_and(|s| s.get("oneOf").is_some() || s.get("anyOf").is_some());
            body["required"] = Value::Bool(has_required || has_choice);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::AckLevel;
    use crate::limits;

    fn memory_document() -> Value {
        serde_json::from_str(&super::document(AckLevel::Memory)).expect("valid JSON")
    }

    /// `(path, method, operation)` of every operation.
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let paths = doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().expect("path item");
                methods
                    .iter()
                    .map(|(method, op)| (path.clone(), method.clone(), op.clone()))
            })
            .collect()
    }

    #[test]
    fn every_error_is_problem_json_and_every_operation_lists_the_errors_it_shares() {
        let doc = memory_document();
        for (path, method, op) in operations(&doc) {
            let responses = op["responses"].as_object().expect("responses");
            for (status, response) in responses {
                if status.as_str() < "400" {
                    continue;
                }
                let content = response["content"].as_object().expect("content");
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"],
                    "{method} {path} {status}"
                );
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem"
                );
                let retry_after = &response["headers"]["Retry-After"];
                assert_eq!(
                    retry_after.is_object(),
                    super::problems::RETRY_AFTER_STATUSES
                        .iter()
                        .any(|s| s.to_string() == status.as_str()),
                    "{method} {path} {status}: Retry-After"
                );
            }
            let lists = |status: &str| responses.contains_key(status);
            if op.get("requestBody").is_some() {
                assert!(
                    lists("400") && lists("413") && lists("415"),
                    "{method} {path}"
                );
            }
            if path.starts_with("/v1/") && path != "/v1/cluster" {
                assert!(
                    lists("500") && lists("503") && lists("504") && lists("507"),
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn bounds_come_from_the_constants_that_enforce_them() {
        let doc = memory_document();
        let op = &doc["paths"]["/v1/topics/{topic}"]["put"];
        assert_eq!(
            op["parameters"][0]["schema"]["pattern"],
            cluster::names::name_pattern().as_str()
        );
        let list = &doc["paths"]["/v1/topics"]["get"]["parameters"][0];
        assert_eq!(list["name"], "pageSize");
        assert_eq!(list["schema"]["maximum"], limits::MAX_PAGE_SIZE);
        let schemas = &doc["components"]["schemas"];
        let partitions = &schemas["CreateTopicRequest"]["properties"]["partitions"];
        assert_eq!(
            (&partitions["minimum"], &partitions["maximum"]),
            (
                &Value::from(1),
                &Value::from(cluster::topic::MAX_PARTITIONS)
            )
        );
        let member = &schemas["HeartbeatRequest"]["properties"]["memberId"]["pattern"];
        assert_eq!(member, cluster::MemberId::pattern().as_str());
        let ack_ids = &schemas["AckIdsRequest"]["properties"]["ackIds"];
        assert_eq!(ack_ids["maxItems"], limits::MAX_ACK_IDS);
    }

    #[test]
    fn a_body_that_may_be_empty_may_be_left_out() {
        let doc = memory_document();
        for (path, required) in [
            ("/v1/cluster:rebalance", false),
            ("/v1/subscriptions/{subscription}:pull", false),
            ("/v1/subscriptions/{subscription}:acknowledge", true),
            ("/v1/subscriptions/{subscription}:seek", true),
        ] {
            assert_eq!(
                doc["paths"][path]["post"]["requestBody"]["required"], required,
                "{path}"
            );
        }
    }

    #[test]
    fn ack_levels_follow_the_storage() {
        let redis: Value =
            serde_json::from_str(&super::document(AckLevel::Leader)).expect("valid JSON");
        let pattern = redis["components"]["schemas"]["CreateTopicRequest"]["properties"]
            ["ackLevel"]["pattern"]
            .as_str()
            .expect("pattern");
        let pattern = regex::Regex::new(pattern).expect("compiles");
        for (level, offered) in [
            ("leader", true),
            ("fsynced", true),
            ("replicated:2", true),
            ("replicated:0", false),
            ("memory", false),
        ] {
            assert_eq!(pattern.is_match(level), offered, "{level}");
        }
    }

    #[test]
    fn list_fields_are_the_array_properties_of_request_bodies() {
        let doc = memory_document();
        let mut arrays: Vec<String> = operations(&doc)
            .iter()
            .filter_map(|(_, _, op)| {
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .map(str::to_owned)
            })
            .flat_map(|reference| {
                let name = reference.trim_start_matches("#/components/schemas/");
                let properties = doc["components"]["schemas"][name]["properties"].clone();
                properties
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, p)| p["type"] == "array")
                    .map(|(key, _)| key.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        arrays.sort();
        arrays.dedup();
        let mut expected: Vec<&str> = crate::types::LIST_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(arrays, expected);
    }

    #[test]
    fn document_lists_every_verb_endpoint() {
        let doc = memory_document();
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
            "RebalanceStatus",
            "PendingMoveStatus",
            "RecentMoveStatus",
        ] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "missing schema {schema}"
            );
        }
    }
}

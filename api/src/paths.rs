//! The URL path of every endpoint and the route templates the server matches.
//! Custom verbs follow Google's `name:verb` style; [`crate::verbs`] names them.
//!
//! axum cannot route `/{name}:verb` (one parameter per segment), so each
//! resource has one route with a `{name}` segment; [`split_verb`] splits the
//! verb off it, and [`topic_verb`] and [`subscription_verb`] join it on.

use crate::verbs::{SubscriptionVerb, TopicVerb, Verb};

pub const TOPICS: &str = "/v1/topics";
pub const SUBSCRIPTIONS: &str = "/v1/subscriptions";
pub const CLUSTER: &str = "/v1/cluster";
/// Moves every partition to its rendezvous owner over the live nodes.
pub const CLUSTER_REBALANCE: &str = "/v1/cluster:rebalance";
/// The cluster's nodes; each is `{CLUSTER_NODES}/{id}`.
pub const CLUSTER_NODES: &str = "/v1/cluster/nodes";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const OPENAPI: &str = "/openapi.json";
/// Served on the metrics port, not the client port.
pub const METRICS: &str = "/metrics";

/// Route template of one topic and its verbs (`{name}` is `topic[:verb]`).
/// HTTP metrics and spans are labelled with it, never with the raw path.
pub const TOPIC_ROUTE: &str = "/v1/topics/{name}";
/// Route template of one subscription and its verbs (`{name}` is `subscription[:verb]`).
pub const SUBSCRIPTION_ROUTE: &str = "/v1/subscriptions/{name}";
/// Route template of one cluster node.
pub const CLUSTER_NODE_ROUTE: &str = "/v1/cluster/nodes/{id}";

/// The query parameter of `:stream` naming the consuming group member.
pub const MEMBER_ID_QUERY: &str = "memberId";

/// The query parameter of `:stream` choosing `json` (default) or `binary` deliveries.
pub const ENCODING_QUERY: &str = "encoding";

/// The header a publish uses to make retries safe.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

pub fn topic(name: &str) -> String {
    format!("{TOPICS}/{name}")
}

/// `/v1/topics/{name}:{verb}`, e.g. `:publish`.
pub fn topic_verb(name: &str, verb: TopicVerb) -> String {
    format!("{TOPICS}/{name}:{}", verb.as_str())
}

pub fn subscription(name: &str) -> String {
    format!("{SUBSCRIPTIONS}/{name}")
}

/// `/v1/subscriptions/{name}:{verb}`, e.g. `:pull`, `:acknowledge`, `:stream`.
pub fn subscription_verb(name: &str, verb: SubscriptionVerb) -> String {
    format!("{SUBSCRIPTIONS}/{name}:{}", verb.as_str())
}

/// `/v1/cluster/nodes/{id}`.
pub fn cluster_node(id: u64) -> String {
    format!("{CLUSTER_NODES}/{id}")
}

/// Splits the `{name}` segment of a resource route into the name and the
/// verb after its last colon, if any (names never contain a colon).
pub fn split_verb(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((name, verb)) => (name, Some(verb)),
        None => (segment, None),
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn splits_at_the_last_colon() {
        assert_eq!(split_verb("orders:publish"), ("orders", Some("publish")));
        assert_eq!(split_verb("orders"), ("orders", None));
        assert_eq!(split_verb("a:b:pull"), ("a:b", Some("pull")));
    }

    #[test]
    fn verb_paths_split_back_into_name_and_verb() {
        for verb in TopicVerb::ALL {
            let path = topic_verb("orders", *verb);
            let segment = path.strip_prefix("/v1/topics/").expect("under /v1/topics");
            assert_eq!(split_verb(segment), ("orders", Some(verb.as_str())));
        }
        for verb in SubscriptionVerb::ALL {
            let path = subscription_verb("audit", *verb);
            let segment = path
                .strip_prefix("/v1/subscriptions/")
                .expect("under /v1/subscriptions");
            assert_eq!(split_verb(segment), ("audit", Some(verb.as_str())));
        }
    }

    /// Clients are generated from the OpenAPI document, so it lists each verb
    /// with the method the server serves it on.
    #[test]
    fn the_openapi_document_lists_every_verb_with_its_method() {
        let document: serde_json::Value =
            serde_json::from_str(&crate::openapi::document(crate::types::AckLevel::Memory))
                .expect("the document is JSON");
        let check = |path: String, method: Method| {
            let operation = &document["paths"][&path][method.as_str().to_lowercase()];
            assert!(operation.is_object(), "{method} {path} is documented");
        };
        for verb in TopicVerb::ALL {
            check(topic_verb("{topic}", *verb), verb.method());
        }
        for verb in SubscriptionVerb::ALL {
            check(subscription_verb("{subscription}", *verb), verb.method());
        }
    }
}

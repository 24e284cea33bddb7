//! The URL path of every endpoint. Custom verbs follow Google's `name:verb` style.

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

/// The query parameter of `:stream` naming the consuming group member.
pub const MEMBER_ID_QUERY: &str = "memberId";

/// The query parameter of `:stream` choosing `json` (default) or `binary` deliveries.
pub const ENCODING_QUERY: &str = "encoding";

/// The header a publish uses to make retries safe.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

pub fn topic(name: &str) -> String {
    format!("{TOPICS}/{name}")
}

/// `/v1/topics/{name}:{verb}`, e.g. `publish`.
pub fn topic_verb(name: &str, verb: &str) -> String {
    format!("{TOPICS}/{name}:{verb}")
}

pub fn subscription(name: &str) -> String {
    format!("{SUBSCRIPTIONS}/{name}")
}

/// `/v1/subscriptions/{name}:{verb}`, e.g. `pull`, `acknowledge`, `stream`.
pub fn subscription_verb(name: &str, verb: &str) -> String {
    format!("{SUBSCRIPTIONS}/{name}:{verb}")
}

/// `/v1/cluster/nodes/{id}:{verb}`, e.g. `remove`.
pub fn cluster_node(id: u64) -> String {
    format!("{CLUSTER_NODES}/{id}")
}

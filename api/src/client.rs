//! The Rust client of the HTTP API.
//!
//! Every method maps one endpoint. Errors the server sent come back as
//! [`ClientError::Api`] with the server's [`Problem`], so callers can match on
//! [`ErrorCode`](crate::ErrorCode) and [`Problem::retryable`].

use std::time::Duration;

use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::client_error::ClientError;
pub use crate::client_options::ClientOptions;
use crate::client_options::Dialer;
use crate::compression::Compression;
use crate::error::Problem;
use crate::http_transport::{Body, HttpTransport};
use crate::paths;
use crate::stream::{Encoding, Publisher, Subscriber};
use crate::types::{
    AckIdsRequest, ClusterStatus, CreateSubscriptionRequest, CreateTopicRequest, Empty, Health,
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    ListDeadLettersResponse, ListSubscriptionsResponse, ListTopicsResponse,
    ModifyAckDeadlineRequest, NackRequest, PublishRequest, PublishResponse, PullRequest,
    PullResponse, RebalanceRequest, RebalanceResponse, RedriveRequest, RedriveResponse,
    RemoveNodeResponse, ResumeKeyRequest, ResumeKeyResponse, SeekRequest, Subscription, Topic,
};
use crate::verbs::{SubscriptionVerb, TopicVerb};

/// Options of one publish call.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Makes retries safe: a repeat within the topic's dedup window stores nothing new.
    pub idempotency_key: Option<String>,
    /// Compress the request body.
    pub compression: Option<Compression>,
}

/// A handle to one PubSubGo server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: HttpTransport,
    dialer: Dialer,
}

impl Client {
    /// A client for `base_url` (e.g. `http://localhost:8081`) with a per-request timeout.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        Self::with_options(base_url, &ClientOptions::new(timeout))
    }

    /// A client for `base_url` (`http://` or `https://`) with `options`: the
    /// CA file that `https://` trusts and the credentials every call sends.
    pub fn with_options(base_url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::InvalidUrl {
                url: base_url.to_owned(),
                reason: "must start with http:// or https://".to_owned(),
            });
        }
        let dialer = Dialer::new(&base, options)?;
        let http = HttpTransport::new(
            &base,
            dialer.tls(),
            options.token.as_deref(),
            options.timeout,
            options.http2,
        )?;
        Ok(Self { base, http, dialer })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn create_topic(
        &self,
        name: &str,
        request: &CreateTopicRequest,
    ) -> Result<Topic, ClientError> {
        self.send_json(Method::PUT, &paths::topic(name), request)
            .await
    }

    pub async fn list_topics(
        &self,
        page_size: Option<u32>,
        page_token: Option<&str>,
    ) -> Result<ListTopicsResponse, ClientError> {
        let query = page_query(page_size, page_token);
        self.call(Method::GET, paths::TOPICS, query.as_deref(), None)
            .await
    }

    pub async fn get_topic(&self, name: &str) -> Result<Topic, ClientError> {
        self.call(Method::GET, &paths::topic(name), None, None)
            .await
    }

    pub async fn delete_topic(&self, name: &str) -> Result<Empty, ClientError> {
        self.call(Method::DELETE, &paths::topic(name), None, None)
            .await
    }

    pub async fn publish(
        &self,
        topic: &str,
        request: &PublishRequest,
        options: &PublishOptions,
    ) -> Result<PublishResponse, ClientError> {
        let json = serde_json::to_vec(request).map_err(ClientError::Decode)?;
        let mut body = json_body(json);
        if let Some(key) = &options.idempotency_key {
            body.headers
                .push((paths::IDEMPOTENCY_KEY_HEADER, key.clone()));
        }
        if let Some(codec) = options.compression {
            body.bytes = codec.compress(&body.bytes);
            body.encoding = Some(codec.header_value());
        }
        let path = paths::topic_verb(topic, TopicVerb::Publish);
        self.call(Method::POST, &path, None, Some(body)).await
    }

    pub async fn create_subscription(
        &self,
        name: &str,
        request: &CreateSubscriptionRequest,
    ) -> Result<Subscription, ClientError> {
        self.send_json(Method::PUT, &paths::subscription(name), request)
            .await
    }

    pub async fn list_subscriptions(
        &self,
        page_size: Option<u32>,
        page_token: Option<&str>,
    ) -> Result<ListSubscriptionsResponse, ClientError> {
        let query = page_query(page_size, page_token);
        self.call(Method::GET, paths::SUBSCRIPTIONS, query.as_deref(), None)
            .await
    }

    pub async fn get_subscription(&self, name: &str) -> Result<Subscription, ClientError> {
        self.call(Method::GET, &paths::subscription(name), None, None)
            .await
    }

    pub async fn delete_subscription(&self, name: &str) -> Result<Empty, ClientError> {
        self.call(Method::DELETE, &paths::subscription(name), None, None)
            .await
    }

    pub async fn pull(
        &self,
        subscription: &str,
        request: &PullRequest,
    ) -> Result<PullResponse, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Pull);
        self.send_json(Method::POST, &path, request).await
    }

    pub async fn acknowledge(
        &self,
        subscription: &str,
        ack_ids: Vec<String>,
    ) -> Result<Empty, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Acknowledge);
        self.send_json(Method::POST, &path, &AckIdsRequest { ack_ids })
            .await
    }

    /// Nacks for redelivery after the subscription's backoff.
    pub async fn nack(
        &self,
        subscription: &str,
        ack_ids: Vec<String>,
    ) -> Result<Empty, ClientError> {
        let request = NackRequest {
            ack_ids,
            ..Default::default()
        };
        self.nack_with(subscription, &request).await
    }

    /// Nacks with an explicit delay or a reason.
    pub async fn nack_with(
        &self,
        subscription: &str,
        request: &NackRequest,
    ) -> Result<Empty, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Nack);
        self.send_json(Method::POST, &path, request).await
    }

    pub async fn seek(
        &self,
        subscription: &str,
        request: &SeekRequest,
    ) -> Result<Empty, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Seek);
        self.send_json(Method::POST, &path, request).await
    }

    /// Up to `max` dead letters of the subscription.
    pub async fn dead_letters(
        &self,
        subscription: &str,
        max: Option<u32>,
    ) -> Result<ListDeadLettersResponse, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::DeadLetters);
        let query = max.map(|max| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("maxMessages", &max.to_string())
                .finish()
        });
        self.call(Method::GET, &path, query.as_deref(), None).await
    }

    pub async fn redrive(
        &self,
        subscription: &str,
        request: &RedriveRequest,
    ) -> Result<RedriveResponse, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Redrive);
        self.send_json(Method::POST, &path, request).await
    }

    pub async fn resume_ordering_key(
        &self,
        subscription: &str,
        key: &str,
    ) -> Result<ResumeKeyResponse, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::ResumeOrderingKey);
        let body = ResumeKeyRequest {
            ordering_key: key.to_owned(),
        };
        self.send_json(Method::POST, &path, &body).await
    }

    pub async fn modify_ack_deadline(
        &self,
        subscription: &str,
        ack_ids: Vec<String>,
        ack_deadline_seconds: u32,
    ) -> Result<Empty, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::ModifyAckDeadline);
        let body = ModifyAckDeadlineRequest {
            ack_ids,
            ack_deadline_seconds,
        };
        self.send_json(Method::POST, &path, &body).await
    }

    /// Opens a WebSocket stream; send a credit frame to start receiving.
    pub async fn stream(&self, subscription: &str) -> Result<Subscriber, ClientError> {
        let url = self.ws_url(&paths::subscription_verb(
            subscription,
            SubscriptionVerb::Stream,
        ));
        Subscriber::connect(&self.dialer, &url).await
    }

    /// Opens `:stream` with deliveries in `encoding` (binary: one frame per lease).
    pub async fn stream_with(
        &self,
        subscription: &str,
        encoding: Encoding,
    ) -> Result<Subscriber, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Stream);
        let url = format!(
            "{}?{}={}",
            self.ws_url(&path),
            paths::ENCODING_QUERY,
            encoding.name()
        );
        Subscriber::connect(&self.dialer, &url).await
    }

    /// Opens `:publishStream` on a topic; publishes travel as `encoding` frames.
    pub async fn publisher(
        &self,
        topic: &str,
        encoding: Encoding,
    ) -> Result<Publisher, ClientError> {
        Publisher::connect(
            &self.dialer,
            &self.ws_url(&paths::topic_verb(topic, TopicVerb::PublishStream)),
            encoding,
        )
        .await
    }

    /// Joins the consumer group of a partitioned subscription.
    pub async fn join_group(
        &self,
        subscription: &str,
        request: &JoinGroupRequest,
    ) -> Result<JoinGroupResponse, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Join);
        self.send_json(Method::POST, &path, request).await
    }

    /// Keeps a member's session alive; answers its current assignment.
    pub async fn heartbeat(
        &self,
        subscription: &str,
        member_id: &str,
        generation: u64,
    ) -> Result<HeartbeatResponse, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Heartbeat);
        let body = HeartbeatRequest {
            member_id: member_id.to_owned(),
            generation,
        };
        self.send_json(Method::POST, &path, &body).await
    }

    /// Leaves the group at once; the member's partitions go to the others.
    pub async fn leave_group(
        &self,
        subscription: &str,
        member_id: &str,
    ) -> Result<Empty, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Leave);
        let body = LeaveGroupRequest {
            member_id: member_id.to_owned(),
        };
        self.send_json(Method::POST, &path, &body).await
    }

    /// Opens a WebSocket stream as a member of a partitioned subscription's
    /// group: only the member's partitions are delivered.
    pub async fn stream_as_member(
        &self,
        subscription: &str,
        member_id: &str,
    ) -> Result<Subscriber, ClientError> {
        let path = paths::subscription_verb(subscription, SubscriptionVerb::Stream);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair(paths::MEMBER_ID_QUERY, member_id)
            .finish();
        let url = format!("{}?{query}", self.ws_url(&path));
        Subscriber::connect(&self.dialer, &url).await
    }

    /// `path` on this server's WebSocket scheme.
    fn ws_url(&self, path: &str) -> String {
        let ws_base = self
            .base
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        format!("{ws_base}{path}")
    }

    /// The metadata group as the server sees it.
    pub async fn cluster_status(&self) -> Result<ClusterStatus, ClientError> {
        self.call(Method::GET, paths::CLUSTER, None, None).await
    }

    /// Moves every partition to its rendezvous owner over the live nodes; with
    /// `dry_run`, answers what would move and moves nothing.
    pub async fn rebalance(&self, dry_run: bool) -> Result<RebalanceResponse, ClientError> {
        let body = RebalanceRequest { dry_run };
        self.send_json(Method::POST, paths::CLUSTER_REBALANCE, &body)
            .await
    }

    /// Forgets node `id`; its partitions move to the live nodes.
    pub async fn remove_node(&self, id: u64) -> Result<RemoveNodeResponse, ClientError> {
        let path = paths::cluster_node(id);
        self.call(Method::DELETE, &path, None, None).await
    }

    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, paths::HEALTHZ, None, None).await
    }

    pub async fn ready(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, paths::READYZ, None, None).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(ClientError::Decode)?;
        self.call(method, path, None, Some(json_body(bytes))).await
    }

    /// `method` on `path`, its answer decoded as `T` or as the server's problem.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<Body>,
    ) -> Result<T, ClientError> {
        let (status, bytes) =
            self.http
                .send(method, path, query, body)
                .await
                .map_err(|source| ClientError::Transport {
                    url: self.base.clone(),
                    source,
                })?;
        decode_response(status, &bytes)
    }
}

fn json_body(bytes: Vec<u8>) -> Body {
    Body {
        bytes,
        content_type: "application/json",
        encoding: None,
        headers: Vec::new(),
    }
}

/// The query of a list call's page, if any.
fn page_query(page_size: Option<u32>, page_token: Option<&str>) -> Option<String> {
    if page_size.is_none() && page_token.is_none() {
        return None;
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(size) = page_size {
        query.append_pair("pageSize", &size.to_string());
    }
    if let Some(token) = page_token {
        query.append_pair("pageToken", token);
    }
    Some(query.finish())
}

fn decode_response<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, ClientError> {
    if status.is_success() {
        return serde_json::from_slice(body).map_err(ClientError::Decode);
    }
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => Err(ClientError::Api(problem)),
        Err(_) => Err(ClientError::UnexpectedResponse {
            status: status.as_u16(),
            body: String::from_utf8_lossy(body).into_owned(),
        }),
    }
}

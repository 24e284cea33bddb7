//! The Rust client of the HTTP API.
//!
//! Every method maps one endpoint. Errors the server sent come back as
//! [`ClientError::Api`] with the server's [`Problem`], so callers can match on
//! [`ErrorCode`](crate::ErrorCode) and [`Problem::retryable`].

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::client_error::ClientError;
pub use crate::client_options::ClientOptions;
use crate::client_options::Dialer;
use crate::compression::Compression;
use crate::error::Problem;
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
    http: reqwest::Client,
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
        let (dialer, http) = Dialer::new(&base, options)?;
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
        let request = self
            .request(Method::GET, paths::TOPICS)
            .query(&page_query(page_size, page_token));
        self.execute(request).await
    }

    pub async fn get_topic(&self, name: &str) -> Result<Topic, ClientError> {
        self.execute(self.request(Method::GET, &paths::topic(name)))
            .await
    }

    pub async fn delete_topic(&self, name: &str) -> Result<Empty, ClientError> {
        self.execute(self.request(Method::DELETE, &paths::topic(name)))
            .await
    }

    pub async fn publish(
        &self,
        topic: &str,
        request: &PublishRequest,
        options: &PublishOptions,
    ) -> Result<PublishResponse, ClientError> {
        let body = serde_json::to_vec(request).map_err(ClientError::Decode)?;
        let mut builder = self
            .request(Method::POST, &paths::topic_verb(topic, TopicVerb::Publish))
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(key) = &options.idempotency_key {
            builder = builder.header(paths::IDEMPOTENCY_KEY_HEADER, key);
        }
        let body = match options.compression {
            Some(codec) => {
                builder = builder.header(reqwest::header::CONTENT_ENCODING, codec.header_value());
                codec.compress(&body)
            }
            None => body,
        };
        self.execute(builder.body(body)).await
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
        let request = self
            .request(Method::GET, paths::SUBSCRIPTIONS)
            .query(&page_query(page_size, page_token));
        self.execute(request).await
    }

    pub async fn get_subscription(&self, name: &str) -> Result<Subscription, ClientError> {
        self.execute(self.request(Method::GET, &paths::subscription(name)))
            .await
    }

    pub async fn delete_subscription(&self, name: &str) -> Result<Empty, ClientError> {
        self.execute(self.request(Method::DELETE, &paths::subscription(name)))
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
        let mut request = self.request(Method::GET, &path);
        if let Some(max) = max {
            request = request.query(&[("maxMessages", max)]);
        }
        self.execute(request).await
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
        let mut url = reqwest::Url::parse(&self.ws_url(&paths::subscription_verb(
            subscription,
            SubscriptionVerb::Stream,
        )))
        .map_err(|e| ClientError::InvalidUrl {
            url: self.base.clone(),
            reason: e.to_string(),
        })?;
        url.query_pairs_mut()
            .append_pair(paths::MEMBER_ID_QUERY, member_id);
        Subscriber::connect(&self.dialer, url.as_str()).await
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
        self.execute(self.request(Method::GET, paths::CLUSTER))
            .await
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
        self.execute(self.request(Method::DELETE, &path)).await
    }

    pub async fn health(&self) -> Result<Health, ClientError> {
        self.execute(self.request(Method::GET, paths::HEALTHZ))
            .await
    }

    pub async fn ready(&self) -> Result<Health, ClientError> {
        self.execute(self.request(Method::GET, paths::READYZ)).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.dialer
            .authorize(self.http.request(method, format!("{}{path}", self.base)))
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.execute(self.request(method, path).json(body)).await
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, ClientError> {
        let transport = |source: reqwest::Error| ClientError::Transport {
            url: self.base.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        decode_response(status, &bytes)
    }
}

fn page_query(page_size: Option<u32>, page_token: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(size) = page_size {
        query.push(("pageSize", size.to_string()));
    }
    if let Some(token) = page_token {
        query.push(("pageToken", token.to_owned()));
    }
    query
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

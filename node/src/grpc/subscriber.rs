//! `google.pubsub.v1.Subscriber`: subscriptions, pulls, acks, deadlines, seek.
//! StreamingPull sessions live in `streaming_pull`. Each RPC names its
//! resource and action to the [`Guard`], makes the broker call the REST
//! handler of the same operation makes, and answers its result.

use std::sync::Arc;
use std::time::Duration;

use api::limits::{MAX_PULL_MESSAGES, MAX_PULL_WAIT_SECONDS};
use api::types::SeekRequest as ApiSeekRequest;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    AcknowledgeRequest, DeleteSubscriptionRequest, GetSubscriptionRequest,
    ListSubscriptionsRequest, ListSubscriptionsResponse, ModifyAckDeadlineRequest, PullRequest,
    PullResponse, SeekRequest, SeekResponse, StreamingPullRequest, Subscription, seek_request,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::guard::{Guard, caller};
use super::held::HeldMessages;
use super::messages::{rfc3339, to_received};
use super::names::{self, Kind, ResourceName};
use super::publisher::{page_size, page_token};
use super::services::subscriber_server::Subscriber;
use super::settle::{ack_deadline, acknowledge, modify_ack_deadline};
use super::status::{answer, status};
use super::streaming_pull::{self, StreamResult};
use super::subscriptions::{create_request, to_google};
use crate::broker::Broker;
use crate::security::auth::Action;
use crate::security::stream_caps::StreamSlot;

/// How much earlier than the caller's deadline a waiting pull answers, so the
/// (possibly empty) answer arrives before the caller gives up.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Serves the `Subscriber` service over one broker.
#[derive(Debug, Clone)]
pub struct SubscriberService {
    broker: Broker,
    guard: Guard,
    held: Arc<HeldMessages>,
}

impl SubscriberService {
    pub fn new(broker: Broker, guard: Guard) -> Self {
        Self {
            broker,
            guard,
            held: Arc::new(HeldMessages::default()),
        }
    }
}

const SUBSCRIPTION: &str = "subscription";
const CONSUME: Option<Action> = Some(Action::Consume);

#[tonic::async_trait]
impl Subscriber for SubscriberService {
    async fn create_subscription(
        &self,
        request: Request<Subscription>,
    ) -> Result<Response<Subscription>, Status> {
        let name = self.guard.named(&request, Some(Action::Manage))?;
        let sub = request.get_ref();
        let topic = ResourceName::parse(Kind::Topics, "topic", &sub.topic)?;
        let create = create_request(sub, topic.id)?;
        let created = self
            .broker
            .catalog
            .create_subscription(&name.id, create)
            .await;
        answer(created.map(|s| to_google(&name.project, &s)))
    }

    async fn get_subscription(
        &self,
        request: Request<GetSubscriptionRequest>,
    ) -> Result<Response<Subscription>, Status> {
        let name = self.guard.named(&request, None)?;
        let got = self.broker.catalog.get_subscription(&name.id).await;
        answer(got.map(|s| to_google(&name.project, &s)))
    }

    async fn list_subscriptions(
        &self,
        request: Request<ListSubscriptionsRequest>,
    ) -> Result<Response<ListSubscriptionsResponse>, Status> {
        self.guard.any_rule(&request)?;
        let request = request.into_inner();
        let project = names::project("project", &request.project)?;
        let page = self
            .broker
            .catalog
            .list_subscriptions(
                page_size(request.page_size)?,
                page_token(&request.page_token),
            )
            .await;
        answer(page.map(|page| {
            ListSubscriptionsResponse {
                subscriptions: page
                    .subscriptions
                    .iter()
                    .map(|sub| to_google(&project, sub))
                    .collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            }
        }))
    }

    async fn delete_subscription(
        &self,
        request: Request<DeleteSubscriptionRequest>,
    ) -> Result<Response<()>, Status> {
        let name = self.guard.named(&request, Some(Action::Manage))?;
        answer(self.broker.catalog.delete_subscription(&name.id).await)
    }

    /// Waits for messages until shortly before the caller's deadline, at most
    /// the REST API's longest wait; `return_immediately` waits not at all.
    async fn pull(&self, request: Request<PullRequest>) -> Result<Response<PullResponse>, Status> {
        let name = self.guard.named(&request, CONSUME)?;
        #[expect(
            deprecated,
            reason = "Google deprecated return_immediately, yet clients still send it"
        )]
        let now = request.get_ref().return_immediately;
        let wait = if now {
            Duration::ZERO
        } else {
            let longest = Duration::from_secs(u64::from(MAX_PULL_WAIT_SECONDS));
            caller_deadline(&request)
                .map_or(longest, |d| d.saturating_sub(DEADLINE_MARGIN).min(longest))
        };
        let request = request.into_inner();
        let max = u32::try_from(request.max_messages)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "max_messages must be positive, got {}",
                    request.max_messages
                ))
            })?
            // Google returns "at most" max_messages; so does a smaller cap.
            .min(MAX_PULL_MESSAGES);
        let delivery = &self.broker.delivery;
        let target = delivery.target(&name.id).await.map_err(status)?;
        let received = delivery.pull_target(&target, max, wait).await;
        let with_attempt = target.subscription.config.dead_letter_policy.is_some();
        answer(received.map(|received| {
            PullResponse {
                received_messages: received
                    .into_iter()
                    .map(|m| to_received(m, with_attempt))
                    .collect(),
            }
        }))
    }

    type StreamingPullStream = ReceiverStream<StreamResult>;

    /// The subscription is in the stream's first message, so the session
    /// checks the caller's right to consume it once that message came.
    async fn streaming_pull(
        &self,
        mut request: Request<Streaming<StreamingPullRequest>>,
    ) -> Result<Response<Self::StreamingPullStream>, Status> {
        let slot = request.extensions_mut().remove::<StreamSlot>();
        let principal = caller(&request).cloned();
        let guard = self.guard.clone();
        let authorize = move |name: &str| {
            let kind = Kind::Subscriptions;
            guard.resource_for(principal.as_ref(), kind, SUBSCRIPTION, name, CONSUME)
        };
        let stream = streaming_pull::open(
            self.broker.clone(),
            self.held.clone(),
            request.into_inner(),
            authorize,
            slot,
        )
        .await?;
        Ok(Response::new(stream))
    }

    async fn acknowledge(
        &self,
        request: Request<AcknowledgeRequest>,
    ) -> Result<Response<()>, Status> {
        let name = self.guard.named(&request, CONSUME)?;
        let acked = acknowledge(
            &self.broker,
            &self.held,
            &name.id,
            &request.get_ref().ack_ids,
        );
        answer(acked.await)
    }

    async fn modify_ack_deadline(
        &self,
        request: Request<ModifyAckDeadlineRequest>,
    ) -> Result<Response<()>, Status> {
        let name = self.guard.named(&request, CONSUME)?;
        let request = request.into_inner();
        let seconds = ack_deadline("ack_deadline_seconds", request.ack_deadline_seconds)?;
        let ids = &request.ack_ids;
        answer(modify_ack_deadline(&self.broker, &self.held, &name.id, ids, seconds).await)
    }

    async fn seek(&self, request: Request<SeekRequest>) -> Result<Response<SeekResponse>, Status> {
        let name = self.guard.named(&request, CONSUME)?;
        let time = match &request.get_ref().target {
            Some(seek_request::Target::Time(time)) => rfc3339("time", time)?,
            Some(seek_request::Target::Snapshot(_)) => {
                return Err(Status::unimplemented(
                    "snapshots are not supported by PubSubGo; seek to a time",
                ));
            }
            None => return Err(Status::invalid_argument("seek needs a time")),
        };
        let seek = ApiSeekRequest {
            time: Some(time),
            position: None,
        };
        let sought = self.broker.delivery.seek(&name.id, seek).await;
        answer(sought.map(|()| SeekResponse {}))
    }
}

/// The caller's deadline (`grpc-timeout`), if it sent one.
fn caller_deadline<T>(request: &Request<T>) -> Option<Duration> {
    let text = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.saturating_mul(3600)),
        "M" => Duration::from_secs(value.saturating_mul(60)),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

//! `google.pubsub.v1.Subscriber`: subscriptions, pulls, acks, deadlines, seek.
//! StreamingPull sessions live in `streaming_pull`.

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

use super::held::HeldMessages;
use super::messages::{rfc3339, to_received};
use super::names::{self, Kind, ResourceName};
use super::publisher::{page_size, page_token};
use super::services::subscriber_server::Subscriber;
use super::settle::{ack_deadline, acknowledge, modify_ack_deadline};
use super::status::status;
use super::streaming_pull::{self, StreamResult};
use super::subscriptions::{create_request, to_google};
use crate::broker::Broker;

/// How much earlier than the caller's deadline a waiting pull answers, so the
/// (possibly empty) answer arrives before the caller gives up.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Serves the `Subscriber` service over one broker.
#[derive(Debug, Clone)]
pub struct SubscriberService {
    broker: Broker,
    held: Arc<HeldMessages>,
}

impl SubscriberService {
    pub fn new(broker: Broker) -> Self {
        Self {
            broker,
            held: Arc::new(HeldMessages::default()),
        }
    }
}

#[tonic::async_trait]
impl Subscriber for SubscriberService {
    async fn create_subscription(
        &self,
        request: Request<Subscription>,
    ) -> Result<Response<Subscription>, Status> {
        let sub = request.into_inner();
        let name = ResourceName::parse(Kind::Subscriptions, "name", &sub.name)?;
        let topic = ResourceName::parse(Kind::Topics, "topic", &sub.topic)?;
        let created = self
            .broker
            .catalog
            .create_subscription(&name.id, create_request(&sub, topic.id)?)
            .await
            .map_err(status)?;
        Ok(Response::new(to_google(&name.project, &created)))
    }

    async fn get_subscription(
        &self,
        request: Request<GetSubscriptionRequest>,
    ) -> Result<Response<Subscription>, Status> {
        let name = subscription_name(&request.get_ref().subscription)?;
        let sub = self
            .broker
            .catalog
            .get_subscription(&name.id)
            .await
            .map_err(status)?;
        Ok(Response::new(to_google(&name.project, &sub)))
    }

    async fn list_subscriptions(
        &self,
        request: Request<ListSubscriptionsRequest>,
    ) -> Result<Response<ListSubscriptionsResponse>, Status> {
        let request = request.into_inner();
        let project = names::project("project", &request.project)?;
        let page = self
            .broker
            .catalog
            .list_subscriptions(
                page_size(request.page_size)?,
                page_token(&request.page_token),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(ListSubscriptionsResponse {
            subscriptions: page
                .subscriptions
                .iter()
                .map(|sub| to_google(&project, sub))
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn delete_subscription(
        &self,
        request: Request<DeleteSubscriptionRequest>,
    ) -> Result<Response<()>, Status> {
        let name = subscription_name(&request.get_ref().subscription)?;
        self.broker
            .catalog
            .delete_subscription(&name.id)
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }

    /// Waits for messages until shortly before the caller's deadline, at most
    /// the REST API's longest wait; `return_immediately` waits not at all.
    async fn pull(&self, request: Request<PullRequest>) -> Result<Response<PullResponse>, Status> {
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
        let name = subscription_name(&request.subscription)?;
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
        let received = delivery
            .pull_target(&target, max, wait)
            .await
            .map_err(status)?;
        let with_attempt = target.subscription.config.dead_letter_policy.is_some();
        Ok(Response::new(PullResponse {
            received_messages: received
                .into_iter()
                .map(|m| to_received(m, with_attempt))
                .collect(),
        }))
    }

    type StreamingPullStream = ReceiverStream<StreamResult>;

    async fn streaming_pull(
        &self,
        request: Request<Streaming<StreamingPullRequest>>,
    ) -> Result<Response<Self::StreamingPullStream>, Status> {
        let stream =
            streaming_pull::open(self.broker.clone(), self.held.clone(), request.into_inner())
                .await?;
        Ok(Response::new(stream))
    }

    async fn acknowledge(
        &self,
        request: Request<AcknowledgeRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = subscription_name(&request.subscription)?;
        acknowledge(&self.broker, &self.held, &name.id, &request.ack_ids)
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn modify_ack_deadline(
        &self,
        request: Request<ModifyAckDeadlineRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = subscription_name(&request.subscription)?;
        let seconds = ack_deadline("ack_deadline_seconds", request.ack_deadline_seconds)?;
        modify_ack_deadline(
            &self.broker,
            &self.held,
            &name.id,
            &request.ack_ids,
            seconds,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn seek(&self, request: Request<SeekRequest>) -> Result<Response<SeekResponse>, Status> {
        let request = request.into_inner();
        let name = subscription_name(&request.subscription)?;
        let time = match &request.target {
            Some(seek_request::Target::Time(time)) => rfc3339("time", time)?,
            Some(seek_request::Target::Snapshot(_)) => {
                return Err(Status::unimplemented(
                    "snapshots are not supported by PubSubGo; seek to a time",
                ));
            }
            None => return Err(Status::invalid_argument("seek needs a time")),
        };
        self.broker
            .delivery
            .seek(
                &name.id,
                ApiSeekRequest {
                    time: Some(time),
                    position: None,
                },
            )
            .await
            .map_err(status)?;
        Ok(Response::new(SeekResponse {}))
    }
}

fn subscription_name(name: &str) -> Result<ResourceName, Status> {
    ResourceName::parse(Kind::Subscriptions, "subscription", name)
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

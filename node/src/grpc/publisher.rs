//! `google.pubsub.v1.Publisher`: topics and publishing. Each RPC names its
//! resource and action to the [`Guard`], makes the broker call the REST
//! handler of the same operation makes, and answers its result.

use api::types::PublishRequest as ApiPublishRequest;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    DeleteTopicRequest, GetTopicRequest, ListTopicSubscriptionsRequest,
    ListTopicSubscriptionsResponse, ListTopicsRequest, ListTopicsResponse, PublishRequest,
    PublishResponse, Topic,
};
use tonic::{Request, Response, Status};

use super::guard::Guard;
use super::messages::to_publish;
use super::names::{self, Kind, ResourceName};
use super::services::publisher_server::Publisher;
use super::status::{answer, status};
use super::topics::{create_request, to_google};
use crate::broker::Broker;
use crate::security::auth::Action;

/// Serves the `Publisher` service over one broker.
#[derive(Debug, Clone)]
pub struct PublisherService {
    broker: Broker,
    guard: Guard,
}

impl PublisherService {
    pub fn new(broker: Broker, guard: Guard) -> Self {
        Self { broker, guard }
    }
}

/// A page size from a request: 0 means the broker's default.
pub fn page_size(size: i32) -> Result<Option<u32>, Status> {
    match u32::try_from(size) {
        Ok(0) => Ok(None),
        Ok(size) => Ok(Some(size)),
        Err(_) => Err(Status::invalid_argument(format!(
            "page_size must not be negative, got {size}"
        ))),
    }
}

/// A page token from a request: empty means the first page.
pub fn page_token(token: &str) -> Option<&str> {
    Some(token).filter(|t| !t.is_empty())
}

#[tonic::async_trait]
impl Publisher for PublisherService {
    async fn create_topic(&self, request: Request<Topic>) -> Result<Response<Topic>, Status> {
        let name = self.guard.named(&request, Some(Action::Manage))?;
        let create = create_request(request.get_ref())?;
        let created = self.broker.catalog.create_topic(&name.id, create).await;
        answer(created.map(|t| to_google(&name.project, &t)))
    }

    async fn get_topic(
        &self,
        request: Request<GetTopicRequest>,
    ) -> Result<Response<Topic>, Status> {
        let name = self.guard.named(&request, None)?;
        let topic = self.broker.catalog.get_topic(&name.id).await;
        answer(topic.map(|t| to_google(&name.project, &t)))
    }

    async fn list_topics(
        &self,
        request: Request<ListTopicsRequest>,
    ) -> Result<Response<ListTopicsResponse>, Status> {
        self.guard.any_rule(&request)?;
        let request = request.into_inner();
        let project = names::project("project", &request.project)?;
        let page = self
            .broker
            .catalog
            .list_topics(
                page_size(request.page_size)?,
                page_token(&request.page_token),
            )
            .await;
        answer(page.map(|page| ListTopicsResponse {
            topics: page.topics.iter().map(|t| to_google(&project, t)).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn delete_topic(
        &self,
        request: Request<DeleteTopicRequest>,
    ) -> Result<Response<()>, Status> {
        let name = self.guard.named(&request, Some(Action::Manage))?;
        answer(self.broker.catalog.delete_topic(&name.id).await)
    }

    /// The topic's subscriptions, from the broker's list of every
    /// subscription (the broker keeps no per-topic index); the page token is
    /// the broker's, of that list.
    async fn list_topic_subscriptions(
        &self,
        request: Request<ListTopicSubscriptionsRequest>,
    ) -> Result<Response<ListTopicSubscriptionsResponse>, Status> {
        let name = self.guard.named(&request, None)?;
        let request = request.into_inner();
        let catalog = &self.broker.catalog;
        catalog.get_topic(&name.id).await.map_err(status)?;
        let page = catalog
            .list_subscriptions(
                page_size(request.page_size)?,
                page_token(&request.page_token),
            )
            .await;
        answer(page.map(|page| {
            ListTopicSubscriptionsResponse {
                subscriptions: page
                    .subscriptions
                    .iter()
                    .filter(|sub| sub.topic == name.id)
                    .map(|sub| ResourceName::path(&name.project, Kind::Subscriptions, &sub.name))
                    .collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            }
        }))
    }

    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        let name = self.guard.named(&request, Some(Action::Publish))?;
        let messages = request.into_inner().messages.into_iter().map(to_publish);
        let published = self
            .broker
            .publisher
            .publish(
                &name.id,
                ApiPublishRequest {
                    messages: messages.collect(),
                },
                None,
            )
            .await;
        answer(published.map(|p| PublishResponse {
            message_ids: p.message_ids,
        }))
    }
}

//! A single-node broker on memory storage serving Google's Pub/Sub API on an
//! ephemeral loopback port, with the googleapis crate's clients for it;
//! [`GoogleServer::secured`] serves it with TLS, authentication or rate
//! limits.

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::publisher_client::PublisherClient;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::subscriber_client::SubscriberClient;
use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    PublishRequest, PubsubMessage, Subscription, Topic,
};
use std::net::SocketAddr;

use node::broker::Broker;
use node::security::ClientSecurity;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

pub const PROJECT: &str = "p";

pub fn topic_path(id: &str) -> String {
    format!("projects/{PROJECT}/topics/{id}")
}

pub fn subscription_path(id: &str) -> String {
    format!("projects/{PROJECT}/subscriptions/{id}")
}

/// A running gRPC server over its own broker.
pub struct GoogleServer {
    pub publisher: PublisherClient<Channel>,
    pub subscriber: SubscriberClient<Channel>,
    pub channel: Channel,
    /// Where the server listens.
    pub address: SocketAddr,
    pub broker: Broker,
    pub served: JoinHandle<std::io::Result<()>>,
}

impl GoogleServer {
    /// A plaintext server with no authentication, as Google's emulator.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let channel = Endpoint::from_shared(url).expect("url");
        Self::serve(listener, ClientSecurity::default(), channel).await
    }

    /// A server with `security`; clients reach it through `endpoint` (given
    /// the bound address), with their own credentials if any.
    pub async fn secured(
        security: ClientSecurity,
        endpoint: impl FnOnce(SocketAddr) -> Endpoint,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let channel = endpoint(listener.local_addr().expect("address"));
        Self::serve(listener, security, channel).await
    }

    async fn serve(listener: TcpListener, security: ClientSecurity, endpoint: Endpoint) -> Self {
        let address = listener.local_addr().expect("address");
        let broker = node::server::memory_broker(CancellationToken::new());
        let served = tokio::spawn(node::grpc::serve(listener, broker.clone(), security));
        let channel = endpoint.connect().await.expect("connect");
        Self {
            publisher: PublisherClient::new(channel.clone()),
            subscriber: SubscriberClient::new(channel.clone()),
            channel,
            address,
            broker,
            served,
        }
    }

    pub async fn create_topic(&mut self, id: &str) {
        self.publisher
            .create_topic(Topic {
                name: topic_path(id),
                ..Topic::default()
            })
            .await
            .expect("create topic");
    }

    /// Creates topic `id` and subscription `{id}-sub` on it as `sub` says
    /// (its name and topic are filled in); returns the subscription's path.
    pub async fn topic_and_subscription(&mut self, id: &str, sub: Subscription) -> String {
        self.create_topic(id).await;
        let name = subscription_path(&format!("{id}-sub"));
        self.subscriber
            .create_subscription(Subscription {
                name: name.clone(),
                topic: topic_path(id),
                ..sub
            })
            .await
            .expect("create subscription");
        name
    }

    /// Topic `id`, an exactly-once subscription `{id}-sub` on it, and one
    /// message with `data` published; returns the subscription's path.
    pub async fn exactly_once(&mut self, id: &str, data: &str) -> String {
        let exact = Subscription {
            enable_exactly_once_delivery: true,
            ..Subscription::default()
        };
        let sub = self.topic_and_subscription(id, exact).await;
        self.publish(id, &[data]).await;
        sub
    }

    /// Publishes messages with `data` to topic `id`; returns their ids.
    pub async fn publish(&mut self, id: &str, data: &[&str]) -> Vec<String> {
        let messages = data
            .iter()
            .map(|d| PubsubMessage {
                data: d.as_bytes().to_vec(),
                ..PubsubMessage::default()
            })
            .collect();
        self.publisher
            .publish(PublishRequest {
                topic: topic_path(id),
                messages,
            })
            .await
            .expect("publish")
            .into_inner()
            .message_ids
    }
}

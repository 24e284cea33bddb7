//! NATS JetStream: one stream with file storage and one replica, one durable pull
//! consumer with explicit acks that every bench consumer binds to (competing consumers).
//!
//! Producers: a JetStream publish waits for the stream's PubAck; `window` of them are
//! in flight per producer. Consumers: the client's continuous pull (`messages()`)
//! with batches of `window`; each message is acked on its own, as JetStream's
//! explicit ack policy requires.
//!
//! With a window of 1, async-nats 0.46's continuous pull stalls after a few thousand
//! messages (its refill threshold is `batch / 2`, which is 0; seen here: 11,475 of
//! 20,000 messages never came within 10 s, while windows of 2 and 16 got all). So a
//! window of 1 uses one `fetch` of one message per receive instead: the same
//! one-message prefetch, one pull request per message like PubSubGo's `:pull`.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{Config, StorageType};
use async_nats::jetstream::{self, Context};
use futures::{FutureExt, StreamExt};

use crate::load::{Consumer, Peer, Producer};

const DURABLE: &str = "bench";
/// How long a receive waits for its first message.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct JetStream {
    url: String,
    stream: String,
    subject: String,
    window: u32,
    admin: Context,
}

impl JetStream {
    /// Connects and creates the stream and its consumer; also answers the server version.
    pub async fn connect(url: &str, window: u32) -> anyhow::Result<(Self, String)> {
        let client = async_nats::connect(url).await?;
        let version = client.server_info().version;
        let admin = jetstream::new(client);
        let stream = super::unique_name("BENCH_");
        let subject = format!("bench.{stream}");
        admin
            .create_stream(Config {
                name: stream.clone(),
                subjects: vec![subject.clone()],
                storage: StorageType::File,
                num_replicas: 1,
                ..Config::default()
            })
            .await
            .context("creating the stream")?;
        let peer = Self {
            url: url.to_owned(),
            stream,
            subject,
            window,
            admin,
        };
        peer.durable().await?;
        Ok((peer, version))
    }

    async fn durable(&self) -> anyhow::Result<PullConsumer> {
        let stream = self.admin.get_stream(&self.stream).await?;
        let consumer = stream
            .get_or_create_consumer(
                DURABLE,
                pull::Config {
                    durable_name: Some(DURABLE.to_owned()),
                    ack_policy: AckPolicy::Explicit,
                    ..pull::Config::default()
                },
            )
            .await?;
        Ok(consumer)
    }
}

pub struct JetStreamProducer {
    context: Context,
    subject: String,
}

impl Producer for JetStreamProducer {
    async fn publish(&self, payload: Vec<u8>) -> anyhow::Result<()> {
        let ack = self
            .context
            .publish(self.subject.clone(), payload.into())
            .await?;
        ack.await?;
        Ok(())
    }
}

pub enum JetStreamConsumer {
    /// Batches of `window` messages requested ahead by the client.
    Continuous {
        messages: Box<pull::Stream>,
        window: u32,
    },
    /// One pull request of one message per receive (window 1).
    Fetch(Box<PullConsumer>),
}

impl Consumer for JetStreamConsumer {
    async fn receive(&mut self) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut received: Vec<anyhow::Result<jetstream::Message>> = Vec::new();
        let ended = || anyhow::anyhow!("the consumer's message stream ended");
        match self {
            JetStreamConsumer::Continuous { messages, window } => {
                let Ok(first) = tokio::time::timeout(RECEIVE_WAIT, messages.next()).await else {
                    return Ok(Vec::new());
                };
                received.push(first.ok_or_else(ended)?.map_err(anyhow::Error::from));
                while received.len() < *window as usize {
                    match messages.next().now_or_never() {
                        Some(next) => {
                            received.push(next.ok_or_else(ended)?.map_err(anyhow::Error::from))
                        }
                        None => break,
                    }
                }
            }
            JetStreamConsumer::Fetch(consumer) => {
                let mut batch = consumer
                    .fetch()
                    .max_messages(1)
                    .expires(RECEIVE_WAIT)
                    .messages()
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                while let Some(message) = batch.next().await {
                    received.push(message.map_err(|e| anyhow::anyhow!(e)));
                }
            }
        }
        let mut payloads = Vec::with_capacity(received.len());
        for message in received {
            let message = message?;
            message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
            payloads.push(message.payload.to_vec());
        }
        Ok(payloads)
    }
}

impl Peer for JetStream {
    type Producer = JetStreamProducer;
    type Consumer = JetStreamConsumer;

    async fn producer(&self) -> anyhow::Result<JetStreamProducer> {
        let client = async_nats::connect(&self.url).await?;
        Ok(JetStreamProducer {
            context: jetstream::new(client),
            subject: self.subject.clone(),
        })
    }

    async fn consumer(&self) -> anyhow::Result<JetStreamConsumer> {
        // Its own connection, bound to the shared durable consumer.
        let client = async_nats::connect(&self.url).await?;
        let stream = jetstream::new(client).get_stream(&self.stream).await?;
        let consumer: PullConsumer = stream
            .get_consumer(DURABLE)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        if self.window == 1 {
            return Ok(JetStreamConsumer::Fetch(Box::new(consumer)));
        }
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.window as usize)
            .messages()
            .await?;
        Ok(JetStreamConsumer::Continuous {
            messages: Box::new(messages),
            window: self.window,
        })
    }

    async fn remove(&self) -> anyhow::Result<()> {
        self.admin.delete_stream(&self.stream).await?;
        Ok(())
    }
}

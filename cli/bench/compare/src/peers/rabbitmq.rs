//! RabbitMQ: one durable quorum queue on the default exchange.
//!
//! Producers: a channel in confirm mode each; a publish resolves when the broker's
//! confirm arrives, `window` in flight. Consumers: a channel each with prefetch =
//! `window` and manual acks; a batch already delivered is acked with one
//! `multiple` ack of its last delivery tag.

use std::time::Duration;

use anyhow::Context as _;
use futures::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use crate::load::{Consumer, Peer, Producer};

/// How long a receive waits for its first delivery.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);

pub struct RabbitMq {
    url: String,
    queue: String,
    window: u32,
    admin: Channel,
    /// Every connection the run opened, closed by `remove`.
    connections: tokio::sync::Mutex<Vec<Connection>>,
}

impl RabbitMq {
    /// Connects and declares the quorum queue.
    pub async fn connect(url: &str, window: u32) -> anyhow::Result<Self> {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let admin = connection.create_channel().await?;
        let queue = super::unique_name("bench-");
        let mut arguments = FieldTable::default();
        arguments.insert(
            ShortString::from("x-queue-type"),
            AMQPValue::LongString("quorum".into()),
        );
        admin
            .queue_declare(
                &queue,
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                arguments,
            )
            .await
            .context("declaring the quorum queue")?;
        Ok(Self {
            url: url.to_owned(),
            queue,
            window,
            admin,
            connections: tokio::sync::Mutex::new(vec![connection]),
        })
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        self.connections.lock().await.push(connection);
        Ok(channel)
    }
}

pub struct RabbitProducer {
    channel: Channel,
    queue: String,
}

impl Producer for RabbitProducer {
    async fn publish(&self, payload: Vec<u8>) -> anyhow::Result<()> {
        let confirm = self
            .channel
            .basic_publish(
                "",
                &self.queue,
                BasicPublishOptions::default(),
                &payload,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        anyhow::ensure!(confirm.is_ack(), "the broker nacked a publish");
        Ok(())
    }
}

pub struct RabbitConsumer {
    deliveries: lapin::Consumer,
    window: u32,
}

impl Consumer for RabbitConsumer {
    async fn receive(&mut self) -> anyhow::Result<Vec<Vec<u8>>> {
        let Ok(first) = tokio::time::timeout(RECEIVE_WAIT, self.deliveries.next()).await else {
            return Ok(Vec::new());
        };
        let mut received = vec![first];
        while received.len() < self.window as usize {
            match self.deliveries.next().now_or_never() {
                Some(next) => received.push(next),
                None => break,
            }
        }
        let mut payloads = Vec::with_capacity(received.len());
        let mut last = None;
        for delivery in received {
            let delivery = delivery.context("the consumer was cancelled")??;
            payloads.push(delivery.data.clone());
            last = Some(delivery);
        }
        if let Some(last) = last {
            last.ack(BasicAckOptions { multiple: true }).await?;
        }
        Ok(payloads)
    }
}

impl Peer for RabbitMq {
    type Producer = RabbitProducer;
    type Consumer = RabbitConsumer;

    async fn producer(&self) -> anyhow::Result<RabbitProducer> {
        let channel = self.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(RabbitProducer {
            channel,
            queue: self.queue.clone(),
        })
    }

    async fn consumer(&self) -> anyhow::Result<RabbitConsumer> {
        let channel = self.channel().await?;
        let prefetch = u16::try_from(self.window).unwrap_or(u16::MAX);
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let deliveries = channel
            .basic_consume(
                &self.queue,
                &super::unique_name("c"),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(RabbitConsumer {
            deliveries,
            window: self.window,
        })
    }

    async fn remove(&self) -> anyhow::Result<()> {
        for connection in self.connections.lock().await.drain(1..) {
            connection.close(0, "bench done").await?;
        }
        let deleted = self
            .admin
            .queue_delete(&self.queue, QueueDeleteOptions::default())
            .await;
        if deleted.is_err() {
            // The broker may have closed the admin channel during a long, busy run
            // (seen once in (c) on 2 shared cores): delete through a fresh one.
            let connection =
                Connection::connect(&self.url, ConnectionProperties::default()).await?;
            let channel = connection.create_channel().await?;
            channel
                .queue_delete(&self.queue, QueueDeleteOptions::default())
                .await
                .context("deleting the queue through a fresh channel")?;
            connection.close(0, "bench done").await?;
        }
        Ok(())
    }
}

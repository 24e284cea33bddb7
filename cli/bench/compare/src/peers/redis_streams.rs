//! Redis Streams used directly: one stream, one consumer group.
//!
//! Producers: XADD on a multiplexed connection each, so `window` commands are in
//! flight at once (pipelined). Consumers: XREADGROUP `COUNT window BLOCK 1000` on a
//! connection of their own (a blocking read must not hold up other commands), and
//! XACK of the previous batch on a second connection at the same time.

use std::time::Duration;

use anyhow::Context as _;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Value};

use crate::load::{Consumer, Peer, Producer};

const GROUP: &str = "bench";
const FIELD: &str = "d";
/// Longer than the blocking read, which the client's default of 500 ms is not.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct RedisStreams {
    client: redis::Client,
    key: String,
    window: u32,
}

impl RedisStreams {
    /// Connects and creates the stream with its group; also answers the server version.
    pub async fn connect(url: &str, window: u32) -> anyhow::Result<(Self, String)> {
        let client = redis::Client::open(url)?;
        let peer = Self {
            client,
            key: super::unique_name("bench:"),
            window,
        };
        let mut conn = peer.connection().await?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await?;
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .unwrap_or("unknown")
            .trim()
            .to_owned();
        let () = conn
            .xgroup_create_mkstream(&peer.key, GROUP, "$")
            .await
            .context("XGROUP CREATE")?;
        Ok((peer, version))
    }

    async fn connection(&self) -> anyhow::Result<MultiplexedConnection> {
        let mut conn = self.client.get_multiplexed_async_connection().await?;
        conn.set_response_timeout(RESPONSE_TIMEOUT);
        Ok(conn)
    }
}

pub struct RedisProducer {
    conn: MultiplexedConnection,
    key: String,
}

impl Producer for RedisProducer {
    async fn publish(&self, payload: Vec<u8>) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _id: String = conn.xadd(&self.key, "*", &[(FIELD, payload)]).await?;
        Ok(())
    }
}

pub struct RedisConsumer {
    reads: MultiplexedConnection,
    acks: MultiplexedConnection,
    key: String,
    name: String,
    window: u32,
    /// Ids of the last batch, acknowledged during the next read.
    pending: Vec<String>,
}

impl Consumer for RedisConsumer {
    async fn receive(&mut self) -> anyhow::Result<Vec<Vec<u8>>> {
        let options = StreamReadOptions::default()
            .group(GROUP, &self.name)
            .count(self.window as usize)
            .block(1000);
        let pending = std::mem::take(&mut self.pending);
        let mut acks = self.acks.clone();
        let key = self.key.clone();
        let ack = async move {
            if pending.is_empty() {
                return Ok(0);
            }
            acks.xack::<_, _, _, u64>(&key, GROUP, &pending).await
        };
        let keys = [self.key.as_str()];
        let read =
            self.reads
                .xread_options::<_, _, Option<StreamReadReply>>(&keys, &[">"], &options);
        let (acked, read) = tokio::join!(ack, read);
        acked.context("XACK")?;
        let mut payloads = Vec::new();
        for stream in read
            .context("XREADGROUP")?
            .map(|r| r.keys)
            .unwrap_or_default()
        {
            for entry in stream.ids {
                match entry.map.get(FIELD) {
                    Some(Value::BulkString(bytes)) => payloads.push(bytes.clone()),
                    other => anyhow::bail!("entry {} has no payload: {other:?}", entry.id),
                }
                self.pending.push(entry.id);
            }
        }
        Ok(payloads)
    }
}

impl Peer for RedisStreams {
    type Producer = RedisProducer;
    type Consumer = RedisConsumer;

    async fn producer(&self) -> anyhow::Result<RedisProducer> {
        Ok(RedisProducer {
            conn: self.connection().await?,
            key: self.key.clone(),
        })
    }

    async fn consumer(&self) -> anyhow::Result<RedisConsumer> {
        Ok(RedisConsumer {
            reads: self.connection().await?,
            acks: self.connection().await?,
            key: self.key.clone(),
            name: super::unique_name("c"),
            window: self.window,
            pending: Vec::new(),
        })
    }

    async fn remove(&self) -> anyhow::Result<()> {
        let mut conn = self.connection().await?;
        let _deleted: u64 = conn.del(&self.key).await?;
        Ok(())
    }
}

//! `GET /v1/subscriptions/{sub}:stream`: deliveries over a WebSocket.
//!
//! The session keeps at most `credit` messages outstanding: delivered and not
//! yet acked, nacked or expired (see `api::frames`). It starts with credit 0.
//! Acks and nacks go through the same broker calls as the HTTP verbs, so the
//! ack model is one. On shutdown the server sends a close frame (1001); when
//! a client disappears, its leases simply expire and the messages redeliver.
//!
//! On a partitioned subscription the stream is opened as a group member
//! (`?memberId=`): only the member's current partitions are delivered, each
//! frame carries the generation, and once the member has left the group the
//! stream sends an `UNKNOWN_MEMBER` error frame and ends. Heartbeats still go
//! over HTTP (`:heartbeat`).
//!
//! With `?encoding=binary` every lease goes out as one binary `Deliveries` frame
//! (see `api::binary`; several when it carries over 8 MiB of payload) instead
//! of one JSON text frame per message; client frames
//! and error frames stay JSON. Either way, the frames of one lease are flushed
//! to the socket together.
//!
//! # Slow consumers
//! Credit bounds the messages a client holds; what the server holds for a
//! client that stops reading is one lease on its way out (counted in the
//! node's memory budget as `stream_buffers` until flushed) and the socket's
//! buffers: the session writes a frame only when the socket takes it, so a
//! client that does not read pauses its own stream. A client that takes no
//! frame for the write timeout (`streams.write_timeout_seconds`, 10 s) is
//! closed with code 1008 (policy violation) and a reason starting with
//! `slow consumer` (see `super::write_deadline`); its leases expire and
//! redeliver.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api::ErrorCode;
use api::binary::{self, Delivered, Deliveries, Kind};
use api::frames::{ClientFrame, ServerFrame};
use api::limits::{MAX_STREAM_CREDIT, counted_bytes};
use api::stream::Encoding;
use axum::extract::ws::{
    CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code,
};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::problem::ApiError;
use super::write_deadline::{Stalled, close_slow, timed};
use crate::broker::delivery::Delivery;
use crate::broker::delivery::target::DeliveryTarget;
use crate::overload::budget::{MemoryBudget, MemoryUse};
use crate::security::stream_caps::StreamSlot;
use crate::telemetry::{Metrics, websocket_metrics};

/// How often the server pings an idle client.
pub(super) const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Most payload bytes (data plus attributes) in one binary deliveries frame: a
/// lease over this goes out in several frames, so a client with the common
/// 16 MiB frame limit can read any of them (one message is at most 10 MiB).
const MAX_DELIVERIES_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// Largest client frame accepted.
const MAX_CLIENT_FRAME_BYTES: usize = 1024 * 1024;
/// Checks the subscription (and, on a partitioned one, that `member` is in its
/// group), then switches protocols.
pub async fn upgrade(
    state: Arc<AppState>,
    name: &str,
    member: Option<&str>,
    encoding: Encoding,
    upgrade: WebSocketUpgrade,
    slot: Option<StreamSlot>,
) -> Result<Response, ApiError> {
    let target = match member {
        Some(member) => state.broker.groups.member_target(name, member).await?,
        None => state.broker.delivery.target(name).await?,
    };
    target.check_pull_allowed()?;
    // Checked as for a delivery (max > 0): a partitioned subscription needs a current member.
    state.broker.groups.delivery_scope(&target, 1).await?;
    let session = Session::new(&state, target, encoding);
    let token = state.streams.token();
    Ok(upgrade
        .read_buffer_size(api::stream::READ_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let _alive = (token, slot);
            session.run(socket).await;
        }))
}

struct Session {
    delivery: Arc<Delivery>,
    metrics: Arc<Metrics>,
    memory: Arc<MemoryBudget>,
    write_timeout: Duration,
    shutdown: CancellationToken,
    target: DeliveryTarget,
    encoding: Encoding,
    credit: usize,
    /// Ack id → lease deadline (Unix ms) of each message this client holds.
    outstanding: HashMap<String, u64>,
}

impl Session {
    fn new(state: &AppState, target: DeliveryTarget, encoding: Encoding) -> Self {
        Self {
            delivery: state.broker.delivery.clone(),
            metrics: state.broker.metrics.clone(),
            memory: state.broker.overload.memory.clone(),
            write_timeout: state.broker.overload.stream_write_timeout,
            shutdown: state.broker.shutdown.clone(),
            target,
            encoding,
            credit: 0,
            outstanding: HashMap::new(),
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let gauge = self.metrics.connections("websocket");
        gauge.inc();
        let name = self.target.subscription.name.to_string();
        tracing::info!(subscription = %name, "stream opened");
        let socket = self
            .metrics
            .websocket
            .session(websocket_metrics::STREAM, socket);
        let (mut tx, mut rx) = socket.split();
        let shutdown = self.shutdown.clone();
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.reset();
        loop {
            if shutdown.is_cancelled() {
                let close = CloseFrame {
                    code: close_code::AWAY,
                    reason: "server shutting down".into(),
                };
                let _ = tx.send(WsMessage::Close(Some(close))).await;
                break;
            }
            let delivered = match self.deliver(&mut tx).await {
                Ok(n) => n,
                Err(Stalled::Slow) => {
                    close_slow(&mut tx, &self.metrics, self.write_timeout, &name).await;
                    break;
                }
                Err(Stalled::Gone) => break,
            };
            if delivered > 0 {
                continue;
            }
            let room = self.credit > self.outstanding.len();
            let wait = self.wait(room);
            tokio::select! {
                frame = rx.next() => match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        if let Err(error) = self.handle(text.as_str()).await
                            && self.send_error(&mut tx, error).await.is_err()
                        {
                            break;
                        }
                    }
                    Some(Ok(WsMessage::Binary(_))) => {
                        let error = ApiError::new(ErrorCode::InvalidArgument, "frames are JSON text, not binary");
                        if self.send_error(&mut tx, error).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {} // ping and pong: answered by axum
                },
                () = wait => {}
                _ = ping.tick() => {
                    match timed(self.write_timeout, tx.send(WsMessage::Ping(Default::default()))).await {
                        Ok(()) => {}
                        Err(Stalled::Slow) => {
                            close_slow(&mut tx, &self.metrics, self.write_timeout, &name).await;
                            break;
                        }
                        Err(Stalled::Gone) => break,
                    }
                }
                () = shutdown.cancelled() => {}
            }
        }
        gauge.dec();
        tracing::info!(subscription = %name, outstanding = self.outstanding.len(), "stream closed");
    }

    /// Sends as many messages as the credit allows. `Err` when the socket is
    /// gone or the client stopped taking frames.
    async fn deliver<S>(&mut self, tx: &mut S) -> Result<usize, Stalled>
    where
        S: SinkExt<WsMessage> + Unpin,
    {
        let now = self.delivery.clock().now_millis();
        self.outstanding.retain(|_, deadline| *deadline > now);
        let room = self.credit.saturating_sub(self.outstanding.len());
        if room == 0 {
            return Ok(0);
        }
        let messages = match self.delivery.lease_batch(&self.target, room).await {
            Ok(messages) => messages,
            Err(error) => {
                let _ = self.send_error(tx, error.into()).await;
                return Err(Stalled::Gone);
            }
        };
        let deadline = now + u64::from(self.target.subscription.config.ack_deadline_seconds) * 1000;
        let count = messages.len();
        let bytes = messages
            .iter()
            .map(|m| counted_bytes(&m.message.data.0, &m.message.attributes) as u64)
            .sum();
        // Until the lease is flushed (or the session ends).
        let _held = self.memory.hold(MemoryUse::StreamBuffers, bytes);
        let timeout = self.write_timeout;
        for message in &messages {
            self.outstanding.insert(message.ack_id.clone(), deadline);
        }
        match self.encoding {
            Encoding::Json => {
                for message in &messages {
                    let text = ServerFrame::message_text(message);
                    timed(timeout, tx.feed(WsMessage::Text(text.into()))).await?;
                }
            }
            Encoding::Binary => {
                // One frame per lease, split where it would pass MAX_DELIVERIES_FRAME_BYTES.
                let mut frame = Deliveries::default();
                let mut bytes = 0;
                for message in messages {
                    let size = counted_bytes(&message.message.data.0, &message.message.attributes);
                    if !frame.messages.is_empty() && bytes + size > MAX_DELIVERIES_FRAME_BYTES {
                        feed_deliveries(tx, std::mem::take(&mut frame), timeout).await?;
                        bytes = 0;
                    }
                    bytes += size;
                    frame.messages.push(Delivered::from(message));
                }
                if !frame.messages.is_empty() {
                    feed_deliveries(tx, frame, timeout).await?;
                }
            }
        }
        timed(timeout, tx.flush()).await?;
        Ok(count)
    }

    /// Waits for something that may let the session deliver: new messages (when
    /// there is room), or the expiry of a message this client holds.
    async fn wait(&self, room: bool) {
        let held_expiry = self
            .outstanding
            .values()
            .min()
            .map(|millis| self.delivery.clock().instant_at(*millis));
        if room {
            self.delivery.wait_for_work(&self.target, held_expiry).await;
        } else if let Some(at) = held_expiry {
            tokio::time::sleep_until(at).await;
        } else {
            std::future::pending::<()>().await;
        }
    }

    /// Applies one client frame; the error is what to report in an error frame.
    async fn handle(&mut self, text: &str) -> Result<(), ApiError> {
        let frame: ClientFrame =
            serde_json::from_str(text).map_err(|e| ApiError::json("frame", &e))?;
        let name = self.target.subscription.name.to_string();
        let result = match frame {
            ClientFrame::Credit { messages } => {
                if messages > MAX_STREAM_CREDIT {
                    return Err(ApiError::new(
                        ErrorCode::InvalidArgument,
                        format!("credit must be 0 to {MAX_STREAM_CREDIT}, got {messages}"),
                    ));
                }
                self.credit = messages as usize;
                Ok(())
            }
            ClientFrame::Ack { ack_ids } => self
                .delivery
                .acknowledge(&name, &ack_ids)
                .await
                .map(|_| self.release(&ack_ids)),
            ClientFrame::Nack {
                ack_ids,
                delay_seconds,
                reason,
            } => self
                .delivery
                .nack(&name, &ack_ids, delay_seconds, reason)
                .await
                .map(|()| self.release(&ack_ids)),
            ClientFrame::ModifyAckDeadline {
                ack_ids,
                ack_deadline_seconds,
            } => self
                .delivery
                .modify_ack_deadline(&name, &ack_ids, ack_deadline_seconds)
                .await
                .map(|()| {
                    if ack_deadline_seconds == 0 {
                        self.release(&ack_ids);
                    } else {
                        let deadline = self.delivery.clock().now_millis()
                            + u64::from(ack_deadline_seconds) * 1000;
                        for id in &ack_ids {
                            if let Some(held) = self.outstanding.get_mut(id) {
                                *held = deadline;
                            }
                        }
                    }
                }),
        };
        result.map_err(ApiError::from)
    }

    /// Sends `error` in an error frame (counted as every error is).
    async fn send_error<S>(&self, tx: &mut S, error: ApiError) -> Result<(), Stalled>
    where
        S: SinkExt<WsMessage> + Unpin,
    {
        let problem = error.into_frame(&self.metrics);
        let text =
            serde_json::to_string(&ServerFrame::Error { problem }).map_err(|_| Stalled::Gone)?;
        timed(self.write_timeout, tx.send(WsMessage::Text(text.into()))).await
    }

    fn release(&mut self, ack_ids: &[String]) {
        for id in ack_ids {
            self.outstanding.remove(id);
        }
    }
}

async fn feed_deliveries<S>(tx: &mut S, frame: Deliveries, timeout: Duration) -> Result<(), Stalled>
where
    S: SinkExt<WsMessage> + Unpin,
{
    let bytes = binary::encode(Kind::Deliveries, &frame);
    timed(timeout, tx.feed(WsMessage::Binary(bytes.into()))).await
}

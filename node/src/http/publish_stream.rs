//! `GET /v1/topics/{topic}:publishStream`: publishing over a WebSocket.
//!
//! Each client frame is one publish with the meaning and limits of a `:publish`
//! request: a JSON text [`PublishFrame`] or a binary [`PublishBatch`] (see
//! `api::binary`). The server answers every publish, in the order they were
//! sent, with a frame of the same encoding (`published`), or with a JSON
//! `error` text frame; the stream stays open after an error. A client may keep
//! any number of publishes in flight.
//!
//! Frames that have arrived together are taken together: the publishes among
//! them without an idempotency key are stored with one append per partition
//! (`Publisher::publish_pipelined`), which is where the stream's throughput comes
//! from; keyed ones go through the idempotent path one by one, in order.
//! A frame larger than [`MAX_REQUEST_BODY_BYTES`] ends the stream. The server
//! pings an idle client as on `:stream`; on shutdown it sends a close frame
//! (1001) after answering what it took.
//!
//! What a turn took is counted in the node's memory budget (`stream_buffers`)
//! until its answers are flushed. While the memory alarm is raised every
//! publish is answered with a `RESOURCE_EXHAUSTED` error frame. A client that
//! does not read its answers stops the stream from reading its frames (TCP
//! pushes back on it); one that takes no answer within the write timeout is
//! closed as a slow consumer, as on `:stream` (see `super::write_deadline`).

use std::sync::Arc;

use api::ErrorCode;
use api::binary::{self, Frame, Kind, PublishBatch, Published};
use api::frames::{PublishAnswer, PublishFrame};
use api::limits::MAX_REQUEST_BODY_BYTES;
use api::types::{PublishRequest, PublishResponse};
use axum::extract::ws::{
    CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code,
};
use axum::response::Response;
use futures::{FutureExt, SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::problem::ApiError;
use super::write_deadline::{Stalled, close_slow, timed};
use crate::broker::publish::Publisher;
use crate::overload::Overload;
use crate::overload::budget::MemoryUse;
use crate::security::stream_caps::StreamSlot;
use crate::telemetry::{Metrics, websocket_metrics};

/// Most frames taken together in one turn, and most bytes: past either, the
/// rest wait in the socket for the next turn (TCP pushes back on the client).
const MAX_FRAMES_PER_TURN: usize = 256;
const MAX_BYTES_PER_TURN: usize = MAX_REQUEST_BODY_BYTES;

/// Checks the topic, then switches protocols.
pub async fn upgrade(
    state: Arc<AppState>,
    topic: &str,
    upgrade: WebSocketUpgrade,
    slot: Option<StreamSlot>,
) -> Result<Response, ApiError> {
    state.broker.metadata.find_topic(topic).await?;
    let publisher = state.broker.publisher.clone();
    let metrics = state.broker.metrics.clone();
    let overload = state.broker.overload.clone();
    let shutdown = state.broker.shutdown.clone();
    let token = state.streams.token();
    let topic = topic.to_owned();
    Ok(upgrade
        .read_buffer_size(api::stream::READ_BUFFER_BYTES)
        .max_message_size(MAX_REQUEST_BODY_BYTES)
        .max_frame_size(MAX_REQUEST_BODY_BYTES)
        .on_upgrade(move |socket| async move {
            let _alive = (token, slot);
            run(&publisher, &metrics, &overload, shutdown, topic, socket).await;
        }))
}

/// One publish as it arrived.
enum Incoming {
    Publish {
        id: u64,
        binary: bool,
        idempotency_key: Option<String>,
        request: PublishRequest,
    },
    /// A frame that is not a publish; `id` if one could be read.
    Refused { id: Option<u64>, error: ApiError },
}

async fn run(
    publisher: &Publisher,
    metrics: &Metrics,
    overload: &Overload,
    shutdown: CancellationToken,
    topic: String,
    socket: WebSocket,
) {
    let timeout = overload.stream_write_timeout;
    let gauge = metrics.connections("websocket");
    gauge.inc();
    tracing::info!(topic = %topic, "publish stream opened");
    let socket = metrics
        .websocket
        .session(websocket_metrics::PUBLISH_STREAM, socket);
    let (mut tx, mut rx) = socket.split();
    let mut ping = tokio::time::interval(super::stream::PING_INTERVAL);
    ping.reset();
    loop {
        let first = tokio::select! {
            frame = rx.next() => frame,
            _ = ping.tick() => {
                match timed(timeout, tx.send(WsMessage::Ping(Default::default()))).await {
                    Ok(()) => continue,
                    Err(Stalled::Slow) => close_slow(&mut tx, metrics, timeout, &topic).await,
                    Err(Stalled::Gone) => {}
                }
                break;
            }
            () = shutdown.cancelled() => {
                let close = CloseFrame {
                    code: close_code::AWAY,
                    reason: "server shutting down".into(),
                };
                let _ = tx.send(WsMessage::Close(Some(close))).await;
                break;
            }
        };
        let mut bytes = frame_len(&first);
        let mut frames = vec![first];
        while frames.len() < MAX_FRAMES_PER_TURN && bytes < MAX_BYTES_PER_TURN {
            match rx.next().now_or_never() {
                Some(frame) => {
                    bytes += frame_len(&frame);
                    frames.push(frame);
                }
                None => break,
            }
        }
        // Until the answers of this turn are flushed.
        let _held = overload.memory.hold(MemoryUse::StreamBuffers, bytes as u64);
        let mut incoming = Vec::with_capacity(frames.len());
        let mut closed = false;
        for frame in frames {
            match frame {
                Some(Ok(WsMessage::Text(text))) => incoming.push(read_text(text.as_str())),
                Some(Ok(WsMessage::Binary(bytes))) => incoming.push(read_binary(&bytes)),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => {
                    closed = true;
                    break;
                }
                Some(Ok(_)) => {} // ping and pong: answered by axum
            }
        }
        let answers = Answers {
            publisher,
            metrics,
            topic: &topic,
        }
        .answer(incoming)
        .await;
        let mut sent = Ok(());
        for frame in answers {
            sent = timed(timeout, tx.feed(frame)).await;
            if sent.is_err() {
                break;
            }
        }
        if sent.is_ok() {
            sent = timed(timeout, tx.flush()).await;
        }
        if sent == Err(Stalled::Slow) {
            close_slow(&mut tx, metrics, timeout, &topic).await;
        }
        if closed || sent.is_err() {
            break;
        }
    }
    gauge.dec();
    tracing::info!(topic = %topic, "publish stream closed");
}

fn frame_len<E>(frame: &Option<Result<WsMessage, E>>) -> usize {
    match frame {
        Some(Ok(WsMessage::Text(text))) => text.len(),
        Some(Ok(WsMessage::Binary(bytes))) => bytes.len(),
        _ => 0,
    }
}

fn read_text(text: &str) -> Incoming {
    match serde_json::from_str::<PublishFrame>(text) {
        Ok(frame) => Incoming::Publish {
            id: frame.id,
            binary: false,
            idempotency_key: frame.idempotency_key,
            request: PublishRequest {
                messages: frame.messages,
            },
        },
        Err(e) => {
            // Answer with the id when the frame has one, so the client can match it.
            let id = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
            Incoming::Refused {
                id,
                error: ApiError::json("publish frame", &e),
            }
        }
    }
}

fn read_binary(bytes: &[u8]) -> Incoming {
    match binary::decode(bytes) {
        Ok(Frame::Publish(batch)) => {
            let (id, idempotency_key, request) = PublishBatch::into_request(batch);
            Incoming::Publish {
                id,
                binary: true,
                idempotency_key,
                request,
            }
        }
        Ok(_) => Incoming::Refused {
            id: None,
            error: ApiError::new(
                ErrorCode::InvalidArgument,
                "a client may only send publish frames (kind 1) on :publishStream",
            ),
        },
        Err(e) => Incoming::Refused {
            id: None,
            error: ApiError::new(ErrorCode::InvalidArgument, e.to_string()),
        },
    }
}

/// What answers the frames of one publish stream.
struct Answers<'a> {
    publisher: &'a Publisher,
    metrics: &'a Metrics,
    topic: &'a str,
}

impl Answers<'_> {
    /// Stores what can be stored and answers every frame, in order.
    async fn answer(&self, incoming: Vec<Incoming>) -> Vec<WsMessage> {
        let mut out = Vec::with_capacity(incoming.len());
        // Consecutive publishes without an idempotency key, stored together.
        let mut run: Vec<(u64, bool, PublishRequest)> = Vec::new();
        for frame in incoming {
            match frame {
                Incoming::Publish {
                    id,
                    binary,
                    idempotency_key: None,
                    request,
                } => run.push((id, binary, request)),
                Incoming::Publish {
                    id,
                    binary,
                    idempotency_key: Some(key),
                    request,
                } => {
                    self.store_run(std::mem::take(&mut run), &mut out).await;
                    let result = self
                        .publisher
                        .publish(self.topic, request, Some(&key))
                        .await;
                    out.push(match result {
                        Ok(response) => published_frame(id, binary, response),
                        Err(error) => error_frame(self.metrics, Some(id), error.into()),
                    });
                }
                Incoming::Refused { id, error } => {
                    self.store_run(std::mem::take(&mut run), &mut out).await;
                    out.push(error_frame(self.metrics, id, error));
                }
            }
        }
        self.store_run(run, &mut out).await;
        out
    }

    async fn store_run(&self, run: Vec<(u64, bool, PublishRequest)>, out: &mut Vec<WsMessage>) {
        if run.is_empty() {
            return;
        }
        let (labels, requests): (Vec<(u64, bool)>, Vec<PublishRequest>) = run
            .into_iter()
            .map(|(id, binary, request)| ((id, binary), request))
            .unzip();
        let answers = self.publisher.publish_pipelined(self.topic, requests).await;
        for ((id, binary), answer) in labels.into_iter().zip(answers) {
            out.push(match answer {
                Ok(response) => published_frame(id, binary, response),
                Err(error) => error_frame(self.metrics, Some(id), error.as_ref().into()),
            });
        }
    }
}

fn published_frame(id: u64, binary: bool, response: PublishResponse) -> WsMessage {
    if binary {
        WsMessage::Binary(binary::encode(Kind::Published, &Published::new(id, response)).into())
    } else {
        text_frame(&PublishAnswer::Published { id, response })
    }
}

fn error_frame(metrics: &Metrics, id: Option<u64>, error: ApiError) -> WsMessage {
    let problem = error.into_frame(metrics);
    text_frame(&PublishAnswer::Error { id, problem })
}

fn text_frame(answer: &PublishAnswer) -> WsMessage {
    // These types always serialize.
    WsMessage::Text(serde_json::to_string(answer).unwrap_or_default().into())
}

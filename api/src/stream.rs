//! The WebSocket side of the client: a [`Subscriber`] per `:stream` connection and
//! a [`Publisher`] per `:publishStream` connection.

use std::collections::VecDeque;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::binary::{self, Frame, Kind, PublishBatch};
use crate::client_error::ClientError;
use crate::client_options::{Dialer, Socket, ws_error};
use crate::error::{ErrorCode, Problem};
use crate::frames::{ClientFrame, PublishAnswer, PublishFrame, ServerFrame};
use crate::types::{PublishRequest, PublishResponse};

/// How much a WebSocket reads from its connection at once, on both ends
/// (the server's `:stream`/`:publishStream` and this client's). tungstenite
/// zero-fills that much of its buffer before every read, including reads
/// that find nothing, so its 128 KiB default cost a 128 KiB `memset` per
/// read: 2–3 % of the broker's CPU on workload (b). A frame larger than this
/// takes several reads; 32 KiB holds a frame of 64 messages of 256 B.
pub const READ_BUFFER_BYTES: usize = 32 * 1024;

/// How a stream's bulk frames travel: JSON text (the default) or binary (see
/// [`crate::binary`]). The `encoding` query parameter of `:stream` and the frames a
/// client sends on `:publishStream` choose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Json,
    Binary,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Binary => "binary",
        }
    }
}

/// A frame the server should never send on this stream.
fn unexpected(what: impl Into<String>) -> ClientError {
    ClientError::Api(Problem::new(ErrorCode::Internal, what))
}

/// An open `:stream` connection.
#[derive(Debug)]
pub struct Subscriber {
    socket: Socket,
    /// Messages of a binary frame not handed out yet.
    pending: VecDeque<ServerFrame>,
}

impl Subscriber {
    pub(crate) async fn connect(dialer: &Dialer, url: &str) -> Result<Self, ClientError> {
        Ok(Self {
            socket: dialer.websocket(url).await?,
            pending: VecDeque::new(),
        })
    }

    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let text = serde_json::to_string(frame).map_err(ClientError::Decode)?;
        self.socket
            .send(WsMessage::text(text))
            .await
            .map_err(ws_error)
    }

    /// Grants credit for `messages` outstanding messages.
    pub async fn credit(&mut self, messages: u32) -> Result<(), ClientError> {
        self.send(&ClientFrame::Credit { messages }).await
    }

    pub async fn ack(&mut self, ack_ids: Vec<String>) -> Result<(), ClientError> {
        self.send(&ClientFrame::Ack { ack_ids }).await
    }

    /// The next frame from the server, one message at a time whatever the
    /// encoding; `None` once the server closed the stream.
    pub async fn next(&mut self) -> Option<Result<ServerFrame, ClientError>> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(Ok(frame));
            }
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(ws_error(e))),
            };
            match message {
                WsMessage::Text(text) => {
                    return Some(serde_json::from_str(&text).map_err(ClientError::Decode));
                }
                WsMessage::Binary(bytes) => match binary::decode(&bytes) {
                    Ok(Frame::Deliveries(deliveries)) => self.pending.extend(
                        deliveries
                            .messages
                            .into_iter()
                            .map(|d| ServerFrame::from(crate::types::ReceivedMessage::from(d))),
                    ),
                    Ok(other) => {
                        return Some(Err(unexpected(format!("unexpected frame {other:?}"))));
                    }
                    Err(e) => return Some(Err(unexpected(e.to_string()))),
                },
                WsMessage::Close(_) => return None,
                // Pings are answered by tungstenite itself; nothing else is sent.
                _ => {}
            }
        }
    }

    /// Sends a close frame and waits for the server's.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.socket.close(None).await.map_err(ws_error)?;
        while let Some(Ok(_)) = self.socket.next().await {}
        Ok(())
    }
}

/// The answer to one publish sent on a [`Publisher`].
pub type PublishOutcome = Result<PublishResponse, Problem>;

/// An open `:publishStream` connection. [`Publisher::send`] queues a publish and
/// answers its id at once; [`Publisher::next_answer`] answers them in the order
/// sent, so a client keeps as many publishes in flight as it likes. While a
/// send or flush waits for room in the socket, the server's frames are read
/// and held for `next_answer`: the server stops reading while its answers wait
/// to be sent, so a client that only sent would otherwise stall both sides once
/// the sockets' buffers fill.
#[derive(Debug)]
pub struct Publisher {
    tx: SplitSink<Socket, WsMessage>,
    rx: SplitStream<Socket>,
    /// Frames read while sending, not yet handed out.
    held: VecDeque<Result<WsMessage, tungstenite::Error>>,
    encoding: Encoding,
    next_id: u64,
    /// Publishes sent and not answered yet.
    in_flight: usize,
    /// Whether frames were queued since the last flush.
    unflushed: bool,
}

impl Publisher {
    pub(crate) async fn connect(
        dialer: &Dialer,
        url: &str,
        encoding: Encoding,
    ) -> Result<Self, ClientError> {
        let (tx, rx) = dialer.websocket(url).await?.split();
        Ok(Self {
            tx,
            rx,
            held: VecDeque::new(),
            encoding,
            next_id: 0,
            in_flight: 0,
            unflushed: false,
        })
    }

    /// Queues one publish; answers the id its answer will carry. Queued frames
    /// are sent when an answer is awaited, or by [`Publisher::flush`].
    pub async fn send(
        &mut self,
        request: PublishRequest,
        idempotency_key: Option<String>,
    ) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = match self.encoding {
            Encoding::Json => {
                let frame = PublishFrame {
                    id,
                    idempotency_key,
                    messages: request.messages,
                };
                WsMessage::text(serde_json::to_string(&frame).map_err(ClientError::Decode)?)
            }
            Encoding::Binary => {
                let batch = PublishBatch::from_request(id, idempotency_key, request);
                WsMessage::binary(binary::encode(Kind::Publish, &batch))
            }
        };
        let Self { tx, rx, held, .. } = self;
        while_reading(tx.feed(frame), rx, held).await?;
        self.unflushed = true;
        self.in_flight += 1;
        Ok(id)
    }

    pub async fn flush(&mut self) -> Result<(), ClientError> {
        if std::mem::take(&mut self.unflushed) {
            let Self { tx, rx, held, .. } = self;
            while_reading(tx.flush(), rx, held).await?;
        }
        Ok(())
    }

    /// The next answer: the publish's id and its outcome. `None` once the server
    /// closed the stream. An error frame without an id (a frame the server could
    /// not read at all) comes back as an error.
    pub async fn next_answer(&mut self) -> Option<Result<(u64, PublishOutcome), ClientError>> {
        if let Err(e) = self.flush().await {
            return Some(Err(e));
        }
        loop {
            let next = match self.held.pop_front() {
                Some(frame) => Some(frame),
                None => self.rx.next().await,
            };
            let message = match next? {
                Ok(message) => message,
                Err(e) => return Some(Err(ws_error(e))),
            };
            return Some(match message {
                WsMessage::Text(text) => match serde_json::from_str(&text) {
                    Ok(PublishAnswer::Published { id, response }) => Ok((id, Ok(response))),
                    Ok(PublishAnswer::Error {
                        id: Some(id),
                        problem,
                    }) => Ok((id, Err(problem))),
                    Ok(PublishAnswer::Error { id: None, problem }) => {
                        Err(ClientError::Api(problem))
                    }
                    Err(e) => Err(ClientError::Decode(e)),
                },
                WsMessage::Binary(bytes) => match binary::decode(&bytes) {
                    Ok(Frame::Published(published)) => {
                        let id = published.id;
                        published
                            .into_response()
                            .map(|response| (id, Ok(response)))
                            .ok_or_else(|| unexpected("unknown ack level in a published frame"))
                    }
                    Ok(other) => Err(unexpected(format!("unexpected frame {other:?}"))),
                    Err(e) => Err(unexpected(e.to_string())),
                },
                WsMessage::Close(_) => return None,
                _ => continue,
            })
            .inspect(|_| self.in_flight = self.in_flight.saturating_sub(1));
        }
    }

    /// Publishes one request and waits for its answer (nothing else in flight).
    pub async fn publish(
        &mut self,
        request: PublishRequest,
        idempotency_key: Option<String>,
    ) -> Result<PublishResponse, ClientError> {
        let id = self.send(request, idempotency_key).await?;
        match self.next_answer().await {
            Some(Ok((answered, outcome))) if answered == id => outcome.map_err(ClientError::Api),
            Some(Ok((answered, _))) => Err(unexpected(format!(
                "answer for publish {answered} while waiting for {id}"
            ))),
            Some(Err(e)) => Err(e),
            None => Err(unexpected("the server closed the publish stream")),
        }
    }

    /// Publishes sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Waits for the answers to every publish still in flight and answers them,
    /// then closes the stream. (The server stops answering once it reads a
    /// close frame, so closing first would leave those outcomes unknown.)
    pub async fn close(mut self) -> Result<Vec<(u64, PublishOutcome)>, ClientError> {
        let mut answers = Vec::new();
        while self.in_flight > 0 {
            match self.next_answer().await {
                Some(answer) => answers.push(answer?),
                None => {
                    return Err(unexpected(format!(
                        "the server closed the publish stream with {} publishes unanswered: \
                         their outcome is unknown",
                        self.in_flight
                    )));
                }
            }
        }
        self.tx.close().await.map_err(ws_error)?;
        while let Some(Ok(_)) = self.rx.next().await {}
        Ok(answers)
    }
}

/// Drives a send or flush to the socket, reading the server's frames into
/// `held` while it waits for room.
async fn while_reading(
    sending: impl Future<Output = Result<(), tungstenite::Error>>,
    rx: &mut SplitStream<Socket>,
    held: &mut VecDeque<Result<WsMessage, tungstenite::Error>>,
) -> Result<(), ClientError> {
    let mut sending = std::pin::pin!(sending);
    loop {
        tokio::select! {
            biased;
            sent = &mut sending => return sent.map_err(ws_error),
            frame = rx.next() => match frame {
                Some(frame) => held.push_back(frame),
                // The server is gone; the send says how.
                None => return sending.await.map_err(ws_error),
            },
        }
    }
}

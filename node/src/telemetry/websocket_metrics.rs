//! [`WebSocketMetrics`]: WebSocket sessions and frames, counted by
//! [`CountedSocket`], the socket every stream endpoint runs on.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `pubsubgo_websocket_sessions_total` | counter, `endpoint` = `stream` or `publish_stream` | WebSocket sessions opened (upgrades completed); open ones are `pubsubgo_active_connections_total{transport="websocket"}` |
//! | `pubsubgo_websocket_frames_total` | counter, `endpoint`, `direction` = `received` or `sent` | WebSocket frames of any kind (text, binary, ping, pong, close) |

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::ws::{Message, WebSocket};
use futures::{Sink, Stream};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// `endpoint` of the subscription stream (`:stream`).
pub const STREAM: &str = "stream";
/// `endpoint` of the publish stream (`:publishStream`).
pub const PUBLISH_STREAM: &str = "publish_stream";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FrameLabel {
    pub endpoint: &'static str,
    pub direction: &'static str,
}

/// Handles on the WebSocket metrics; clones count into the same series.
#[derive(Debug, Clone, Default)]
pub struct WebSocketMetrics {
    sessions: Family<EndpointLabel, Counter>,
    frames: Family<FrameLabel, Counter>,
}

impl WebSocketMetrics {
    /// Creates the metrics and registers them in `registry`; every series
    /// is exported from the start, at 0.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        for endpoint in [STREAM, PUBLISH_STREAM] {
            metrics
                .sessions
                .get_or_create(&EndpointLabel { endpoint })
                .inc_by(0);
            for direction in ["received", "sent"] {
                metrics
                    .frames
                    .get_or_create(&FrameLabel {
                        endpoint,
                        direction,
                    })
                    .inc_by(0);
            }
        }
        registry.register(
            "pubsubgo_websocket_sessions",
            "WebSocket sessions opened, by endpoint",
            metrics.sessions.clone(),
        );
        registry.register(
            "pubsubgo_websocket_frames",
            "WebSocket frames, by endpoint and direction",
            metrics.frames.clone(),
        );
        metrics
    }

    /// Counts a session opened on `endpoint` and its frames from now on.
    pub fn session(&self, endpoint: &'static str, socket: WebSocket) -> CountedSocket {
        self.sessions
            .get_or_create(&EndpointLabel { endpoint })
            .inc();
        let frames = |direction| {
            self.frames
                .get_or_create(&FrameLabel {
                    endpoint,
                    direction,
                })
                .clone()
        };
        CountedSocket {
            inner: socket,
            received: frames("received"),
            sent: frames("sent"),
        }
    }
}

/// A WebSocket that counts the frames it reads and writes.
#[derive(Debug)]
pub struct CountedSocket {
    inner: WebSocket,
    received: Counter,
    sent: Counter,
}

impl Stream for CountedSocket {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(_))) = polled {
            self.received.inc();
        }
        polled
    }
}

impl Sink<Message> for CountedSocket {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        Pin::new(&mut self.inner).start_send(item)?;
        self.sent.inc();
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

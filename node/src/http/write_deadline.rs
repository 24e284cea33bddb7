//! The write timeout of WebSocket streams: a frame the client does not take
//! within it makes the stream a slow consumer, closed with code 1008 (policy
//! violation) and a reason starting with [`SLOW_CONSUMER`], counted in
//! `pubsubgo_slow_consumers_total` and logged. `:stream` and
//! `:publishStream` both write through `timed`.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, close_code};
use futures::SinkExt;

use crate::telemetry::Metrics;

/// How the close reason of a stream closed for not reading starts.
pub const SLOW_CONSUMER: &str = "slow consumer";

/// Why a session stopped writing.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stalled {
    /// The socket is gone (closed, reset, or a frame could not be encoded).
    Gone,
    /// The client took no frame within the write timeout.
    Slow,
}

/// Runs one write on the socket within `timeout`.
pub(super) async fn timed<T, E>(
    timeout: Duration,
    write: impl Future<Output = Result<T, E>>,
) -> Result<T, Stalled> {
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(Stalled::Gone),
        Err(_) => Err(Stalled::Slow),
    }
}

/// Closes a socket whose client took no frame within `timeout`: the close
/// frame goes into the socket's buffer and is flushed if the client reads
/// within another `timeout`; then the connection is dropped either way.
pub(super) async fn close_slow<S>(tx: &mut S, metrics: &Metrics, timeout: Duration, what: &str)
where
    S: SinkExt<WsMessage> + Unpin,
{
    metrics.overload.slow_consumers.inc();
    tracing::warn!(
        stream = what,
        timeout_seconds = timeout.as_secs(),
        "closing a slow consumer: the client took no frame within the write timeout"
    );
    let close = CloseFrame {
        code: close_code::POLICY,
        reason: format!("{SLOW_CONSUMER}: no frame taken for {}s", timeout.as_secs()).into(),
    };
    let _ = timed(timeout, tx.send(WsMessage::Close(Some(close)))).await;
}

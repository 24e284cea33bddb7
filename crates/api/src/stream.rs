//! The WebSocket side of the client: one [`Subscriber`] per `:stream` connection.

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::ClientError;
use crate::frames::{ClientFrame, ServerFrame};

/// An open `:stream` connection.
#[derive(Debug)]
pub struct Subscriber {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Subscriber {
    pub(crate) async fn connect(url: &str) -> Result<Self, ClientError> {
        let (socket, _response) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ClientError::WebSocket(Box::new(e)))?;
        Ok(Self { socket })
    }

    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let text = serde_json::to_string(frame).map_err(ClientError::Decode)?;
        self.socket
            .send(WsMessage::text(text))
            .await
            .map_err(|e| ClientError::WebSocket(Box::new(e)))
    }

    /// Grants credit for `messages` outstanding messages.
    pub async fn credit(&mut self, messages: u32) -> Result<(), ClientError> {
        self.send(&ClientFrame::Credit { messages }).await
    }

    pub async fn ack(&mut self, ack_ids: Vec<String>) -> Result<(), ClientError> {
        self.send(&ClientFrame::Ack { ack_ids }).await
    }

    /// The next frame from the server; `None` once the server closed the stream.
    pub async fn next(&mut self) -> Option<Result<ServerFrame, ClientError>> {
        loop {
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(ClientError::WebSocket(Box::new(e)))),
            };
            match message {
                WsMessage::Text(text) => {
                    return Some(serde_json::from_str(&text).map_err(ClientError::Decode));
                }
                WsMessage::Close(_) => return None,
                // Pings are answered by tungstenite itself; nothing else is sent.
                _ => {}
            }
        }
    }

    /// Sends a close frame and waits for the server's.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.socket
            .close(None)
            .await
            .map_err(|e| ClientError::WebSocket(Box::new(e)))?;
        while let Some(Ok(_)) = self.socket.next().await {}
        Ok(())
    }
}

//! How the Rust client reports calls that got no proper answer, against real
//! sockets on loopback: a port nobody listens on is a connect failure (the
//! request took no effect, which the chaos checker relies on); a server that
//! takes the request and closes is not (it may have taken effect); a server
//! that never answers, or stops partway through its answer, is a timeout; and
//! a redirect is not followed.

use std::time::{Duration, Instant};

use api::{Client, ClientError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A listener on a free loopback port.
async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// What a test server does once it has read a request's head.
#[derive(Clone, Copy)]
enum Then {
    /// Writes this and closes the connection.
    Answer(&'static str),
    /// Writes this and keeps the connection open, writing nothing more.
    AnswerAndStall(&'static str),
}

/// Reads one request's head from the next connection, then does `then`.
async fn answer_once(listener: TcpListener, then: Then) {
    let (mut socket, _) = listener.accept().await.expect("accept");
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = socket.read(&mut buf).await.expect("read");
        assert!(read > 0, "the client closed before sending its request");
        head.extend_from_slice(&buf[..read]);
    }
    match then {
        Then::Answer(answer) => socket.write_all(answer.as_bytes()).await.expect("write"),
        Then::AnswerAndStall(answer) => {
            socket.write_all(answer.as_bytes()).await.expect("write");
            std::future::pending::<()>().await;
        }
    }
}

/// A call to a server that does `then`, with `timeout`.
async fn call_one(then: Then, timeout: Duration) -> Result<api::types::Topic, ClientError> {
    let server = listener().await;
    let address = server.local_addr().expect("address");
    tokio::spawn(answer_once(server, then));
    let client = Client::new(&format!("http://{address}"), timeout).expect("client");
    // Well above the client's timeout: only a client that ignores it runs into this.
    tokio::time::timeout(Duration::from_secs(5), client.get_topic("orders"))
        .await
        .expect("the client's own timeout ends the call")
}

#[tokio::test]
async fn a_port_nobody_listens_on_is_a_connect_failure() {
    let closed = listener().await;
    let address = closed.local_addr().expect("address");
    drop(closed);
    let client = Client::new(&format!("http://{address}"), Duration::from_secs(5)).expect("client");

    let failed = client.get_topic("orders").await;

    match failed {
        Err(ClientError::Transport { source, .. }) => {
            assert!(source.is_connect(), "{source}");
            assert!(!source.is_timeout(), "{source}");
            assert!(source.to_string().contains("refused"), "{source}");
        }
        other => panic!("expected a connect failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_takes_the_request_and_closes_is_not_a_connect_failure() {
    let failed = call_one(Then::Answer(""), Duration::from_secs(5)).await;

    match failed {
        Err(ClientError::Transport { source, .. }) => {
            assert!(!source.is_connect(), "{source}");
            assert!(!source.is_timeout(), "{source}");
        }
        other => panic!("expected a transport failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_never_answers_or_stops_midway_is_a_timeout_after_the_clients_timeout() {
    let timeout = Duration::from_millis(300);
    for then in [
        Then::AnswerAndStall(""),
        Then::AnswerAndStall("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"name\""),
    ] {
        let started = Instant::now();
        let failed = call_one(then, timeout).await;

        match failed {
            Err(ClientError::Transport { source, .. }) => {
                assert!(source.is_timeout(), "{source}");
                assert!(!source.is_connect(), "{source}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_redirect_is_an_unexpected_answer_and_is_not_followed() {
    let failed = call_one(
        Then::Answer(
            "HTTP/1.1 308 Permanent Redirect\r\nlocation: http://127.0.0.1:1/elsewhere\r\n\
             content-length: 5\r\n\r\nmoved",
        ),
        Duration::from_secs(5),
    )
    .await;

    match failed {
        Err(ClientError::UnexpectedResponse { status, body }) => {
            assert_eq!(status, 308);
            assert_eq!(body, "moved");
        }
        other => panic!("expected the redirect as an unexpected answer, got {other:?}"),
    }
}

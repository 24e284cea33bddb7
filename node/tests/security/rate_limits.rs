//! Rate limits: one principal over its limit gets `429 RESOURCE_EXHAUSTED`
//! with `Retry-After` while another principal's requests still pass; a client
//! address over its limit likewise, probes never; a principal at its cap of
//! open WebSocket streams is refused another until one closes; a refused
//! request leaves its keep-alive connection usable.

use api::ErrorCode;
use node::security::auth::api_keys::hash_hex;
use testkit::server_process::{DataDir, Server};

use crate::process::{client_with_token, start};

/// A server started with `extra` flags and API keys for two principals,
/// `busy` (`busy-key-0001`) and `quiet` (`quiet-key-0002`), each allowed
/// everything on every resource; the files live as long as the second value.
fn start_two_principals(name: &str, extra: &[&str]) -> (Server, (tempfile::TempDir, DataDir)) {
    let dir = tempfile::tempdir().expect("dir");
    let keys = dir.path().join("keys.yaml");
    std::fs::write(
        &keys,
        format!(
            "keys:\n  - principal: busy\n    sha256: {}\n  - principal: quiet\n    sha256: {}\n",
            hash_hex("busy-key-0001"),
            hash_hex("quiet-key-0002")
        ),
    )
    .expect("keys");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "principals:\n  busy: [ { resources: [\"*\"], actions: [manage, consume, publish] } ]\n  quiet: [ { resources: [\"*\"], actions: [manage, consume, publish] } ]\n",
    )
    .expect("policy");
    let data = DataDir::new(name);
    let (keys, policy) = (keys.to_string_lossy(), policy.to_string_lossy());
    let mut args = vec![
        "--auth-enabled",
        "true",
        "--auth-api-keys-file",
        &keys,
        "--auth-policy-file",
        &policy,
    ];
    args.extend_from_slice(extra);
    let server = start(&data, &args);
    (server, (dir, data))
}

#[test_log::test(tokio::test)]
async fn a_principal_over_its_limit_gets_429_while_another_is_served() {
    tracing::info!("arrange: two principals, each limited to 5 requests per second");
    let (server, _files) = start_two_principals(
        "rate-principal",
        &["--rate-limit-principal-per-second", "5"],
    );
    let base = format!("http://{}", server.client_addr());
    let busy = client_with_token(&base, Some("busy-key-0001"));
    let quiet = client_with_token(&base, Some("quiet-key-0002"));

    tracing::info!("act: the busy principal sends 50 requests at once");
    let mut refused = 0;
    for _ in 0..50 {
        match busy.list_topics(None, None).await {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(
                    error.problem().map(|p| p.code),
                    Some(ErrorCode::ResourceExhausted),
                    "{error}"
                );
                refused += 1;
            }
        }
    }

    tracing::info!("assert: most were refused; the quiet principal is served at once");
    assert!(refused >= 30, "only {refused} of 50 refused");
    quiet
        .list_topics(None, None)
        .await
        .expect("another principal has its own bucket");
    let raw = testkit::client::http()
        .get(format!("{base}/v1/topics"))
        .bearer_auth("busy-key-0001")
        .send()
        .await
        .expect("answer");
    if raw.status() == 429 {
        let retry: u64 = raw.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(retry >= 1, "Retry-After {retry}");
    }
}

#[test_log::test(tokio::test)]
async fn a_client_address_over_its_limit_gets_429_and_probes_still_answer() {
    tracing::info!("arrange: no authentication, 3 requests per second per address");
    let data = DataDir::new("rate-address");
    let server = start(&data, &["--rate-limit-address-per-second", "3"]);
    let base = format!("http://{}", server.client_addr());
    let client = client_with_token(&base, None);

    tracing::info!("act: 30 requests at once from this address");
    let mut refused = 0;
    for _ in 0..30 {
        if let Err(error) = client.list_topics(None, None).await {
            assert_eq!(
                error.problem().map(|p| p.code),
                Some(ErrorCode::ResourceExhausted),
                "{error}"
            );
            refused += 1;
        }
    }

    tracing::info!("assert: refused beyond the burst; /healthz is never limited");
    assert!(refused >= 20, "only {refused} of 30 refused");
    for _ in 0..10 {
        client.health().await.expect("probes are not rate limited");
    }
}

#[test_log::test(tokio::test)]
async fn a_principal_at_its_stream_cap_is_refused_until_one_of_its_streams_closes() {
    tracing::info!("arrange: two principals, each allowed one open stream");
    let (server, _files) =
        start_two_principals("stream-cap", &["--limit-streams-per-principal", "1"]);
    let base = format!("http://{}", server.client_addr());
    let busy = client_with_token(&base, Some("busy-key-0001"));
    let quiet = client_with_token(&base, Some("quiet-key-0002"));
    busy.create_topic("capped", &Default::default())
        .await
        .expect("topic");
    busy.create_subscription("capped-sub", &testkit::client::subscription("capped"))
        .await
        .expect("subscription");

    tracing::info!("act: busy opens a stream, then a second one and a publish stream");
    let first = busy.stream("capped-sub").await.expect("first stream");
    let second = busy.stream("capped-sub").await.expect_err("over the cap");
    let Err(publisher) = busy.publisher("capped", api::stream::Encoding::Json).await else {
        panic!("a publish stream counts too");
    };

    tracing::info!("assert: 429 for busy, quiet has its own count; a closed stream frees the slot");
    for refused in [&second, &publisher] {
        assert!(refused.to_string().contains("429"), "{refused}");
    }
    let other = quiet
        .stream("capped-sub")
        .await
        .expect("another principal has its own cap");
    first.close().await.expect("close");
    let again = testkit::wait_for("a slot after the close", crate::process::WAIT, || async {
        busy.stream("capped-sub").await.ok()
    })
    .await
    .expect("busy streams again once its stream closed");
    drop((other, again));
}

#[test_log::test(tokio::test)]
async fn a_refused_request_leaves_its_keep_alive_connection_usable() {
    tracing::info!("arrange: 1 request per second per address, one TCP connection");
    let data = DataDir::new("rate-keep-alive");
    let server = start(&data, &["--rate-limit-address-per-second", "1"]);
    let mut connection = Connection::open(&server.client_addr()).await;
    // Larger than hyper reads in one go: left unread, it would end the connection.
    let body = format!(
        r#"{{"messages":[{{"data":"{}"}}]}}"#,
        "QUFB".repeat(128 * 1024)
    );

    tracing::info!("act: six publishes beyond the burst, then a probe, on that one connection");
    let mut refused = 0;
    for _ in 0..6 {
        let (status, headers) = connection
            .exchange("POST", "/v1/topics/absent:publish", &body)
            .await;
        if status == 429 {
            refused += 1;
            assert!(!headers.contains("connection: close"), "{headers}");
        } else {
            assert_eq!(status, 404, "the one let through finds no topic: {headers}");
        }
    }
    let (probe, _) = connection.exchange("GET", "/healthz", "").await;

    tracing::info!("assert: refusals were answered and the connection still carried the probe");
    assert!(refused >= 1, "none of 6 refused");
    assert_eq!(probe, 200);
}

/// One HTTP/1.1 connection, written and read by hand so that nothing
/// reconnects behind the test's back.
struct Connection {
    stream: tokio::net::TcpStream,
    buffered: Vec<u8>,
}

impl Connection {
    async fn open(address: &str) -> Self {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        Self {
            stream,
            buffered: Vec::new(),
        }
    }

    /// Sends one request and reads its answer: the status and the header
    /// block in lower case. Panics when the server closed the connection.
    async fn exchange(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        use tokio::io::AsyncWriteExt;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        self.stream
            .write_all(format!("{head}{body}").as_bytes())
            .await
            .expect("the connection is still open for the request");
        let head_end = loop {
            if let Some(at) = self.buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await;
        };
        let head = String::from_utf8_lossy(&self.buffered[..head_end]).to_lowercase();
        let status: u16 = head[9..12].parse().expect("status");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map_or(0, |v| v.trim().parse().expect("length"));
        while self.buffered.len() < head_end + length {
            self.fill().await;
        }
        self.buffered.drain(..head_end + length);
        (status, head)
    }

    async fn fill(&mut self) {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(crate::process::WAIT, self.stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "the server closed the connection");
        self.buffered.extend_from_slice(&chunk[..read]);
    }
}

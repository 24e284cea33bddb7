//! `pubsub-cli bench` against a real in-process broker: a tiny run must account for
//! every message and clean up after itself, and `--servers` spreads its clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::support::cli;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::info;

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_tiny_bench_receives_every_message_once_and_reports_json() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();

    for transport in ["pull", "stream"] {
        info!(
            transport,
            "act: 200 messages from 2 producers to 2 consumers"
        );
        let run = cli(
            url,
            &[
                "--format",
                "json",
                "bench",
                "--messages",
                "200",
                "--producers",
                "2",
                "--consumers",
                "2",
                "--window",
                "8",
                "--batch",
                "5",
                "--size",
                "64",
                "--transport",
                transport,
            ],
        )
        .await
        .assert_ok();

        info!(
            transport,
            "assert: one JSON report, nothing lost or duplicated"
        );
        let report = run.json();
        let verification = &report["verification"];
        assert_eq!(verification["expected"], 200, "{report:#}");
        assert_eq!(verification["received"], 200, "{report:#}");
        assert_eq!(verification["lost"], 0, "{report:#}");
        assert_eq!(verification["duplicates"], 0, "{report:#}");
        assert_eq!(report["publishLatency"]["count"], 200, "{report:#}");
        assert_eq!(report["endToEndLatency"]["count"], 200, "{report:#}");
        assert!(
            report["endToEnd"]["msgsPerSec"].as_f64() > Some(0.0),
            "{report:#}"
        );
        assert_eq!(report["workload"]["setup"]["transport"], transport);
        assert!(
            run.stderr.starts_with("bench pubsubgo: 200 msgs × 64 B"),
            "{run:#?}"
        );
    }

    info!("assert: the bench's topics and subscriptions are gone");
    let topics = cli(url, &["--format", "json", "topics", "list"])
        .await
        .assert_ok()
        .json();
    assert_eq!(
        topics["topics"].as_array().map(Vec::len),
        Some(0),
        "{topics:#}"
    );
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn the_table_says_what_ran_and_what_was_verified() {
    let node = node::TestNode::start().await.expect("broker starts");
    let run = cli(&node.url, &["bench", "--messages", "20", "--size", "32"])
        .await
        .assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("bench pubsubgo: 20 msgs × 32 B, 1 producers"),
        "{run:#?}"
    );
    assert!(lines[2].starts_with("publish"), "{run:#?}");
    assert!(lines[3].starts_with("end-to-end"), "{run:#?}");
    assert_eq!(
        lines[4],
        "verified: 20 of 20 acknowledged messages received, 0 lost, 0 duplicates"
    );
    assert!(
        run.stderr.is_empty(),
        "no progress line off a terminal: {run:#?}"
    );
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_size_below_the_stamp_is_a_usage_error() {
    let run = cli("http://127.0.0.1:9", &["bench", "--size", "8"]).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
}

/// Requests seen by a [`CountingProxy`], by the start of their request line or the
/// verb of their path.
#[derive(Debug, Default)]
struct Seen {
    topic_puts: AtomicU64,
    publishes: AtomicU64,
    pulls: AtomicU64,
}

impl Seen {
    const PATTERNS: [&'static [u8]; 3] = [b"PUT /v1/topics/", b":publish ", b":pull "];

    fn counter(&self, pattern: usize) -> &AtomicU64 {
        [&self.topic_puts, &self.publishes, &self.pulls][pattern]
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A TCP forwarder in front of the broker that counts the requests passing through
/// it, so a test can tell which URL each client of the bench used.
struct CountingProxy {
    url: String,
    seen: Arc<Seen>,
}

impl CountingProxy {
    async fn start(broker_url: &str) -> Self {
        let broker = broker_url
            .strip_prefix("http://")
            .expect("an http URL")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Seen::default());
        let counts = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = TcpStream::connect(&broker).await.expect("broker reachable");
                tokio::spawn(forward(client, upstream, counts.clone()));
            }
        });
        Self { url, seen }
    }
}

/// Copies both ways until either side closes, counting [`Seen::PATTERNS`] in what the
/// client sends (also across reads: the tail of the previous read is kept).
async fn forward(client: TcpStream, upstream: TcpStream, seen: Arc<Seen>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let answers = tokio::spawn(async move {
        let _closed = tokio::io::copy(&mut upstream_read, &mut client_write).await;
    });
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut window: Vec<u8> = Vec::new();
    loop {
        let read = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let kept = window.len();
        window.extend_from_slice(&buffer[..read]);
        for (index, pattern) in Seen::PATTERNS.iter().enumerate() {
            // Only matches that reach into the new bytes; older ones were counted.
            let found = window
                .windows(pattern.len())
                .enumerate()
                .filter(|(at, w)| w == pattern && at + pattern.len() > kept)
                .count();
            seen.counter(index)
                .fetch_add(found as u64, Ordering::Relaxed);
        }
        window.drain(..window.len().saturating_sub(16));
        if upstream_write.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _closed = upstream_write.shutdown().await;
    answers.abort();
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn servers_spread_producers_and_consumers_and_the_first_makes_the_topic() {
    let node = node::TestNode::start().await.expect("broker starts");
    info!("arrange: two counting proxies in front of the broker, --server unreachable");
    let first = CountingProxy::start(&node.url).await;
    let second = CountingProxy::start(&node.url).await;
    let servers = format!("{},{}", first.url, second.url);

    info!("act: 2 producers and 2 consumers over --servers first,second");
    let run = cli(
        "http://127.0.0.1:9",
        &[
            "--format",
            "json",
            "bench",
            "--servers",
            &servers,
            "--messages",
            "200",
            "--producers",
            "2",
            "--consumers",
            "2",
            "--window",
            "4",
            "--size",
            "64",
        ],
    )
    .await
    .assert_ok();

    info!("assert: every message arrived once, and each server carried both sides");
    let report = run.json();
    assert_eq!(report["verification"]["received"], 200, "{report:#}");
    assert_eq!(report["verification"]["lost"], 0, "{report:#}");
    assert_eq!(report["verification"]["duplicates"], 0, "{report:#}");
    assert_eq!(report["workload"]["setup"]["servers"], "2", "{report:#}");
    assert_eq!(
        report["workload"]["setup"]["storage"], "memory",
        "{report:#}"
    );
    for (name, proxy) in [("first", &first), ("second", &second)] {
        let seen = &proxy.seen;
        assert!(Seen::get(&seen.publishes) > 0, "{name}: {seen:?}");
        assert!(Seen::get(&seen.pulls) > 0, "{name}: {seen:?}");
    }
    assert_eq!(Seen::get(&first.seen.topic_puts), 1, "{:?}", first.seen);
    assert_eq!(Seen::get(&second.seen.topic_puts), 0, "{:?}", second.seen);
    let publishes = Seen::get(&first.seen.publishes) + Seen::get(&second.seen.publishes);
    assert_eq!(publishes, 200, "one publish request per message");
    node.stop().await;
}

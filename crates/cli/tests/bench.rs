//! `pubsub-cli bench` against a real in-process broker: a tiny run must account for
//! every message and clean up after itself.

mod support;

use support::*;
use tracing::info;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test]
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

#[tokio::test]
async fn a_size_below_the_stamp_is_a_usage_error() {
    let run = cli("http://127.0.0.1:9", &["bench", "--size", "8"]).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
}

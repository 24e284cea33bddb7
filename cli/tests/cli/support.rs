//! Shared by the CLI tests: runs the real `pubsub-cli` binary as a child process
//! (under `tokio::process`, so the in-process broker keeps serving on the test's
//! runtime) and waits on conditions.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

/// Upper bound on one CLI run; a run that takes longer is a hang, not slowness.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn assert_ok(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

pub fn command(server: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pubsub-cli"));
    command
        .arg("--server")
        .arg(server)
        .args(args)
        .env_remove("PUBSUB_SERVER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

pub async fn cli(server: &str, args: &[&str]) -> Run {
    let child = command(server, args).spawn().expect("pubsub-cli starts");
    finish(child, args).await
}

pub async fn finish(child: tokio::process::Child, args: &[&str]) -> Run {
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("pubsub-cli {args:?} did not finish within {RUN_LIMIT:?}"))
        .expect("pubsub-cli output is readable");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Creates `topic` and a subscription `subscription` on it, asserting both succeed.
pub async fn create_topic_and_subscription(server: &str, topic: &str, subscription: &str) {
    cli(server, &["topics", "create", topic]).await.assert_ok();
    cli(
        server,
        &["subscriptions", "create", subscription, "--topic", topic],
    )
    .await
    .assert_ok();
}

/// Pulls (and acks) until every one of `wanted` has been printed, or gives up at a deadline.
pub async fn pull_until_seen(server: &str, subscription: &str, wanted: &[&str]) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut printed = String::new();
    while !wanted.iter().all(|w| printed.contains(w)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only saw {printed:?}, wanted {wanted:?}"
        );
        let run = cli(
            server,
            &["pull", subscription, "--max", "10", "--wait", "1", "--ack"],
        )
        .await
        .assert_ok();
        printed.push_str(&run.stdout);
    }
    printed
}

/// Waits until the subscription's backlog is `expected`; acks sent over a stream are
/// applied by the server after the client has moved on.
pub async fn wait_for_backlog(server: &str, subscription: &str, expected: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let sub = cli(
            server,
            &["--format", "json", "subscriptions", "get", subscription],
        )
        .await
        .assert_ok()
        .json();
        if sub["stats"]["backlogMessages"] == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "backlog never reached {expected}: {sub:#}"
        );
        tokio::task::yield_now().await;
    }
}

/// The value of a `label:  value` line of a resource's table output.
pub fn field<'a>(stdout: &'a str, label: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(label)?.strip_prefix(':'))
        .map(str::trim)
}

/// Pulls once with a long poll and answers the received messages as JSON values.
pub async fn pull_json(server: &str, subscription: &str) -> Vec<Value> {
    let pulled = cli(
        server,
        &[
            "--format",
            "json",
            "pull",
            subscription,
            "--max",
            "10",
            "--wait",
            "5",
        ],
    )
    .await
    .assert_ok()
    .json();
    pulled["receivedMessages"]
        .as_array()
        .unwrap_or_else(|| panic!("no receivedMessages in {pulled:#}"))
        .clone()
}

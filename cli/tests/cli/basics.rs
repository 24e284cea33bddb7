//! The basic commands: topics, subscriptions, publish, pull, ack and nack,
//! subscribe, cluster status, and the errors a user sees (usage errors exit 2,
//! server errors 1, an unreachable server gets a hint).

use crate::support::{
    cli, command, create_topic_and_subscription, finish, pull_until_seen, wait_for_backlog,
};
use serde_json::Value;
use tracing::info;

#[test_log::test(tokio::test)]
async fn published_messages_are_pulled_acked_and_gone() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();

    info!("arrange: a topic with one subscription");
    let run = cli(url, &["topics", "create", "orders", "--partitions", "2"]).await;
    assert!(run.assert_ok().stdout.contains("created topic orders"));
    cli(
        url,
        &["subscriptions", "create", "billing", "--topic", "orders"],
    )
    .await
    .assert_ok();

    info!("act: publish three messages, one with an ordering key and an attribute");
    let first = cli(url, &["publish", "orders", "--data", "first"])
        .await
        .assert_ok();
    assert!(
        first.stdout.contains("published 1 message to orders"),
        "{first:#?}"
    );
    cli(
        url,
        &[
            "publish",
            "orders",
            "--data",
            "second",
            "--key",
            "k1",
            "--attr",
            "color=red",
        ],
    )
    .await
    .assert_ok();
    cli(
        url,
        &["publish", "orders", "--data", "third", "--priority", "7"],
    )
    .await
    .assert_ok();

    info!("assert: pull --ack prints all three with key and attribute");
    let printed = pull_until_seen(url, "billing", &["first", "second", "third"]).await;
    assert!(printed.contains("k1"), "{printed}");
    assert!(printed.contains("color=red"), "{printed}");
    assert!(printed.contains("acknowledged"), "{printed}");
    assert!(
        !printed.contains("ACK ID"),
        "--ack hides ack ids: {printed}"
    );

    info!("assert: nothing is left, and the server agrees");
    let again = cli(url, &["pull", "billing", "--wait", "0"])
        .await
        .assert_ok();
    assert_eq!(again.stdout.trim(), "no messages", "{again:#?}");
    let sub = cli(
        url,
        &["--format", "json", "subscriptions", "get", "billing"],
    )
    .await
    .assert_ok()
    .json();
    assert_eq!(sub["stats"]["backlogMessages"], 0, "{sub:#}");
    assert_eq!(sub["stats"]["outstandingMessages"], 0, "{sub:#}");
    let stats = cli(url, &["--format", "json", "topics", "stats", "orders"])
        .await
        .assert_ok()
        .json();
    assert_eq!(stats["messagesPublished"], 3, "{stats:#}");
    assert_eq!(
        stats["partitions"].as_array().map(Vec::len),
        Some(2),
        "{stats:#}"
    );

    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn pulled_ack_ids_can_be_acked_and_nacked_by_hand() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    create_topic_and_subscription(url, "events", "audit").await;
    cli(url, &["publish", "events", "--data", "a", "--count", "2"])
        .await
        .assert_ok();

    info!("act: pull without --ack shows ack ids");
    let table = cli(url, &["pull", "audit", "--max", "1", "--wait", "5"])
        .await
        .assert_ok();
    assert!(table.stdout.contains("ACK ID"), "{table:#?}");
    let pulled = cli(
        url,
        &[
            "--format", "json", "pull", "audit", "--max", "1", "--wait", "5",
        ],
    )
    .await
    .assert_ok()
    .json();
    let ack_id = pulled["receivedMessages"][0]["ackId"]
        .as_str()
        .unwrap_or_else(|| panic!("no ack id in {pulled:#}"))
        .to_owned();

    info!("assert: ack and nack take the ids pull printed");
    let acked = cli(url, &["ack", "audit", &ack_id]).await.assert_ok();
    assert_eq!(acked.stdout.trim(), "acknowledged 1 message");
    let table_ack_id = table
        .stdout
        .lines()
        .nth(1)
        .and_then(|row| row.split_whitespace().last())
        .expect("a message row")
        .to_owned();
    let nacked = cli(url, &["nack", "audit", &table_ack_id])
        .await
        .assert_ok();
    assert!(nacked.stdout.starts_with("nacked 1 message"), "{nacked:#?}");

    info!("assert: the nacked message comes back on its second attempt, the acked one not");
    let redelivered = cli(
        url,
        &[
            "--format", "json", "pull", "audit", "--max", "10", "--wait", "5",
        ],
    )
    .await
    .assert_ok()
    .json();
    let received = redelivered["receivedMessages"]
        .as_array()
        .unwrap_or_else(|| panic!("no receivedMessages in {redelivered:#}"));
    assert_eq!(received.len(), 1, "{redelivered:#}");
    assert_eq!(received[0]["deliveryAttempt"], 2, "{redelivered:#}");
    assert_ne!(received[0]["ackId"], ack_id.as_str(), "{redelivered:#}");

    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_missing_topic_is_reported_in_words_with_exit_code_1() {
    let node = node::TestNode::start().await.expect("broker starts");

    let run = cli(&node.url, &["topics", "get", "nosuch"]).await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    assert!(run.stderr.contains("TOPIC_NOT_FOUND"), "{run:#?}");
    assert!(!run.stderr.contains('{'), "no raw JSON: {run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn usage_errors_exit_with_code_2() {
    // Usage errors stop before any request, so no broker is needed.
    let url = "http://127.0.0.1:9";
    for args in [
        &["publish"][..],
        &["publish", "orders", "--attr", "novalue"],
        &["topics", "frobnicate"],
        &["pull", "s", "--max", "0"],
        &["publish", "orders", "--data", "x", "--ttl", "1h"],
        &["subscriptions", "seek", "s", "--earliest", "--latest"],
        &["subscriptions", "seek", "s"],
    ] {
        let run = cli(url, args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:#?}");
        assert!(run.stderr.contains("error:"), "{args:?}: {run:#?}");
    }
}

#[test_log::test(tokio::test)]
async fn a_reader_that_went_away_ends_the_cli_quietly_with_code_0() {
    let node = node::TestNode::start().await.expect("broker starts");
    cli(&node.url, &["topics", "create", "piped"])
        .await
        .assert_ok();
    // `pubsub-cli topics list | head -0`: the read end is closed before anything is written.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);

    let child = command(&node.url, &["topics", "list"])
        .stdout(writer)
        .spawn()
        .expect("pubsub-cli starts");
    let run = finish(child, &["topics", "list"]).await;

    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.is_empty(), "no panic, no message: {run:#?}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn json_topic_list_follows_every_page() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    for name in ["alpha", "bravo", "charlie"] {
        cli(url, &["topics", "create", name]).await.assert_ok();
    }

    let listed = cli(
        url,
        &["--format", "json", "topics", "list", "--page-size", "2"],
    )
    .await
    .assert_ok()
    .json();

    let mut names: Vec<&str> = listed["topics"]
        .as_array()
        .unwrap_or_else(|| panic!("no topics array in {listed:#}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alpha", "bravo", "charlie"]);
    assert!(listed.get("nextPageToken").is_none(), "{listed:#}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn subscribe_prints_streamed_messages_and_stops_at_the_limit() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    create_topic_and_subscription(url, "chat", "reader").await;

    info!("act: start the stream, then publish two messages");
    let args = [
        "subscribe",
        "reader",
        "--max-messages",
        "2",
        "--credit",
        "1",
    ];
    let subscriber = command(url, &args).spawn().expect("pubsub-cli starts");
    cli(url, &["publish", "chat", "--data", "hello"])
        .await
        .assert_ok();
    cli(
        url,
        &["publish", "chat", "--data", "world", "--attr", "lang=en"],
    )
    .await
    .assert_ok();

    info!("assert: both arrive, each on its line, and the stream ends by itself");
    let run = finish(subscriber, &args).await.assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(lines.iter().any(|l| l.ends_with("data=hello")), "{run:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("attrs=lang=en") && l.ends_with("data=world")),
        "{run:#?}"
    );

    info!("assert: the stream acked them, so the backlog empties");
    wait_for_backlog(url, "reader", 0).await;

    info!("assert: --format json prints one message frame per line");
    cli(url, &["publish", "chat", "--data", "again"])
        .await
        .assert_ok();
    let run = cli(
        url,
        &[
            "--format",
            "json",
            "subscribe",
            "reader",
            "--max-messages",
            "1",
        ],
    )
    .await
    .assert_ok();
    let frame: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    assert_eq!(frame["type"], "message", "{frame:#}");
    assert_eq!(frame["message"]["data"], "YWdhaW4=", "{frame:#}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn an_unreachable_server_gets_a_hint_to_start_it() {
    // A port that was just free: nothing listens there, so the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("has an address"));
    drop(listener);

    let run = cli(&url, &["topics", "list"]).await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("is the server running at {url}?")),
        "{run:#?}"
    );
}

#[test_log::test(tokio::test)]
async fn cluster_status_reports_the_metadata_group() {
    let node = node::TestNode::start().await.expect("server starts");
    let table = cli(&node.url, &["cluster", "status"]).await.assert_ok();
    assert!(table.stdout.starts_with("NODE"), "{}", table.stdout);
    assert!(table.stdout.contains("standalone"), "{}", table.stdout);
    let json = cli(&node.url, &["--format", "json", "cluster", "status"])
        .await
        .assert_ok()
        .json();
    assert_eq!(json["healthy"], true);
    assert_eq!(json["role"], "standalone");
    node.stop().await;
}

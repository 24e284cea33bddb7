//! `pubsub-cli` delivery commands (nack with reasons, dead letters and redrive,
//! seek, delayed publishes) against a real in-process broker.

use crate::support::{
    cli, create_topic_and_subscription, field, pull_json, pull_until_seen, wait_for_backlog,
};
use tracing::info;

#[test_log::test(tokio::test)]
async fn a_message_nacked_too_often_is_dead_lettered_listed_and_redriven() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();

    info!("arrange: orders, its dead-letter topic, and a subscription that gives up after 5");
    cli(url, &["topics", "create", "orders"]).await.assert_ok();
    cli(url, &["topics", "create", "orders-dlq"])
        .await
        .assert_ok();
    let created = cli(
        url,
        &[
            "subscriptions",
            "create",
            "billing",
            "--topic",
            "orders",
            "--dead-letter-topic",
            "orders-dlq",
            "--max-delivery-attempts",
            "5",
        ],
    )
    .await
    .assert_ok();
    assert_eq!(
        field(&created.stdout, "dead letters"),
        Some("to orders-dlq after 5 attempts"),
        "{created:#?}"
    );
    cli(url, &["publish", "orders", "--data", "poison"])
        .await
        .assert_ok();

    info!("act: five rounds of pull and nack --reason boom");
    for attempt in 1..=5 {
        let received = pull_json(url, "billing").await;
        assert_eq!(received.len(), 1, "attempt {attempt}: {received:#?}");
        assert_eq!(received[0]["deliveryAttempt"], attempt, "{received:#?}");
        let ack_id = received[0]["ackId"]
            .as_str()
            .unwrap_or_else(|| panic!("no ack id in {received:#?}"));
        let nacked = cli(url, &["nack", "billing", ack_id, "--reason", "boom"])
            .await
            .assert_ok();
        assert!(nacked.stdout.starts_with("nacked 1 message"), "{nacked:#?}");
    }

    info!("assert: the message is a dead letter with 5 attempts and reason boom");
    let table = cli(url, &["dlq", "list", "billing"]).await.assert_ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{table:#?}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row.get(1..3), Some(&["5", "boom"][..]), "{table:#?}");
    assert_eq!(row.last(), Some(&"poison"), "{table:#?}");
    let listed = cli(url, &["--format", "json", "dlq", "list", "billing"])
        .await
        .assert_ok()
        .json();
    assert_eq!(
        listed["deadLetters"][0]["deliveryAttempts"], 5,
        "{listed:#}"
    );
    assert_eq!(listed["deadLetters"][0]["reason"], "boom", "{listed:#}");
    let details = cli(url, &["subscriptions", "get", "billing"])
        .await
        .assert_ok();
    assert_eq!(
        field(&details.stdout, "dead-lettered"),
        Some("1"),
        "{details:#?}"
    );

    info!("act: redrive it");
    let redriven = cli(url, &["dlq", "redrive", "billing"]).await.assert_ok();
    assert!(
        redriven.stdout.starts_with("redrove 1 message:"),
        "{redriven:#?}"
    );

    info!("assert: it is delivered again from attempt 1, and the dead-letter list is empty");
    let received = pull_json(url, "billing").await;
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0]["deliveryAttempt"], 1, "{received:#?}");
    assert_eq!(received[0]["message"]["data"], "cG9pc29u", "{received:#?}");
    let empty = cli(url, &["dlq", "list", "billing"]).await.assert_ok();
    assert_eq!(
        empty.stdout.trim(),
        "no dead letters in billing",
        "{empty:#?}"
    );
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn seeking_to_the_earliest_message_delivers_acked_messages_again() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    create_topic_and_subscription(url, "events", "audit").await;
    cli(url, &["publish", "events", "--data", "one"])
        .await
        .assert_ok();
    cli(url, &["publish", "events", "--data", "two"])
        .await
        .assert_ok();

    info!("arrange: both messages are pulled and acked");
    pull_until_seen(url, "audit", &["one", "two"]).await;
    wait_for_backlog(url, "audit", 0).await;
    let none = cli(url, &["pull", "audit", "--wait", "0"])
        .await
        .assert_ok();
    assert_eq!(none.stdout.trim(), "no messages", "{none:#?}");

    info!("act: seek to the earliest retained message");
    let sought = cli(url, &["subscriptions", "seek", "audit", "--earliest"])
        .await
        .assert_ok();
    assert!(
        sought
            .stdout
            .starts_with("subscription audit now reads from the earliest"),
        "{sought:#?}"
    );

    info!("assert: both come back");
    wait_for_backlog(url, "audit", 2).await;
    pull_until_seen(url, "audit", &["one", "two"]).await;
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_delayed_message_is_in_the_backlog_but_not_delivered() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    create_topic_and_subscription(url, "reminders", "mailer").await;

    info!("act: publish a message held back for an hour");
    let published = cli(
        url,
        &[
            "publish",
            "reminders",
            "--data",
            "later",
            "--deliver-after",
            "3600s",
        ],
    )
    .await
    .assert_ok();
    assert!(
        published.stdout.contains("first delivery in 3600s"),
        "{published:#?}"
    );

    info!("assert: a pull that waits gets nothing, yet the backlog counts it");
    let pulled = cli(url, &["pull", "mailer", "--wait", "1"])
        .await
        .assert_ok();
    assert_eq!(pulled.stdout.trim(), "no messages", "{pulled:#?}");
    let sub = cli(url, &["--format", "json", "subscriptions", "get", "mailer"])
        .await
        .assert_ok()
        .json();
    assert_eq!(sub["stats"]["backlogMessages"], 1, "{sub:#}");
    assert_eq!(sub["stats"]["outstandingMessages"], 0, "{sub:#}");
    node.stop().await;
}

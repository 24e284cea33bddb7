//! `pubsub-cli` consumer groups (`subscriptions create --type partitioned`, `groups
//! list|describe|join`, `pull --member`) against a real in-process broker.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{cli, command, field, finish};
use serde_json::Value;
use tracing::info;

/// Ordering keys that land on partitions 1, 2, 3 and 0 of a 4-partition topic, by the
/// documented `xxh3_64(key) mod partitions`.
const KEYS: [&str; 4] = ["k1", "k3", "k4", "k6"];

/// A 4-partition topic `orders` and a consumer group `shards` on it.
async fn arrange_group(url: &str) {
    cli(url, &["topics", "create", "orders", "--partitions", "4"])
        .await
        .assert_ok();
    let created = cli(
        url,
        &[
            "subscriptions",
            "create",
            "shards",
            "--topic",
            "orders",
            "--type",
            "partitioned",
        ],
    )
    .await
    .assert_ok();
    assert_eq!(
        field(&created.stdout, "type"),
        Some("partitioned"),
        "{created:#?}"
    );
}

/// `groups describe --format json`: the subscription with its group and stats.
async fn describe_json(url: &str, subscription: &str) -> Value {
    cli(
        url,
        &["--format", "json", "groups", "describe", subscription],
    )
    .await
    .assert_ok()
    .json()
}

fn members(sub: &Value) -> &Vec<Value> {
    sub["group"]["members"]
        .as_array()
        .unwrap_or_else(|| panic!("no group members in {sub:#}"))
}

/// Waits until the group has `count` members; answers the subscription as described.
async fn wait_for_members(url: &str, subscription: &str, count: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let sub = describe_json(url, subscription).await;
        if members(&sub).len() == count {
            return sub;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the group never had {count} members: {sub:#}"
        );
        tokio::task::yield_now().await;
    }
}

#[test_log::test(tokio::test)]
async fn a_member_consumes_every_partition_and_leaves_at_its_limit() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();

    info!("arrange: a consumer group on a 4-partition topic, and a shared subscription beside it");
    arrange_group(url).await;
    cli(
        url,
        &["subscriptions", "create", "billing", "--topic", "orders"],
    )
    .await
    .assert_ok();

    info!("act: join with --max-messages 4, then publish 4 messages with 4 ordering keys");
    let args = ["groups", "join", "shards", "--max-messages", "4"];
    let member = command(url, &args).spawn().expect("pubsub-cli starts");
    for key in KEYS {
        cli(
            url,
            &[
                "publish",
                "orders",
                "--data",
                &format!("order-{key}"),
                "--key",
                key,
            ],
        )
        .await
        .assert_ok();
    }

    info!("assert: the member printed the 4 messages, one per partition, with generation 1");
    let run = finish(member, &args).await.assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run:#?}");
    for key in KEYS {
        let line = lines
            .iter()
            .find(|l| l.ends_with(&format!("data=order-{key}")))
            .unwrap_or_else(|| panic!("no message with key {key}: {run:#?}"));
        assert!(
            line.contains(" attempt=1 generation=1 key="),
            "{line:?} in {run:#?}"
        );
    }
    let partitions: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l.split_once('-').map(|(partition, _)| partition))
        .collect();
    assert_eq!(partitions, BTreeSet::from(["0", "1", "2", "3"]), "{run:#?}");
    assert!(
        run.stderr.contains("joined group shards as member ")
            && run
                .stderr
                .contains(": generation 1, partitions 0, 1, 2, 3;"),
        "{run:#?}"
    );
    let member_id = run
        .stderr
        .split_once("as member ")
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(id, _)| id)
        .unwrap_or_default();
    assert!(
        member_id.len() == 36 && member_id.get(14..15) == Some("7"),
        "member id {member_id:?} is a UUID v7"
    );
    assert!(
        run.stderr.contains("left group shards after 4 messages"),
        "{run:#?}"
    );

    info!("assert: the group has no members now, and nothing is left to consume");
    let sub = describe_json(url, "shards").await;
    assert!(members(&sub).is_empty(), "{sub:#}");
    assert_eq!(sub["stats"]["backlogMessages"], 0, "{sub:#}");
    let generation = sub["group"]["generation"]
        .as_u64()
        .unwrap_or_else(|| panic!("no generation in {sub:#}"));
    assert_eq!(
        generation, 2,
        "the join and the leave each moved partitions: {sub:#}"
    );
    let table = cli(url, &["groups", "describe", "shards"])
        .await
        .assert_ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            format!(
                "subscription shards on topic orders: generation {generation}, no members, \
                 total lag 0 messages"
            )
            .as_str()
        ),
        "{table:#?}"
    );
    assert_eq!(
        lines
            .get(2)
            .copied()
            .map(str::split_whitespace)
            .map(Vec::from_iter),
        Some(vec![
            "PARTITION",
            "MEMBER",
            "BACKLOG",
            "OUTSTANDING",
            "OLDEST",
            "UNACKED"
        ]),
        "{table:#?}"
    );
    assert_eq!(lines.last(), Some(&"no members"), "{table:#?}");

    info!("assert: groups list shows the group, and only the group");
    let listed = cli(url, &["groups", "list"]).await.assert_ok();
    let rows: Vec<Vec<&str>> = listed
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "TOPIC", "GENERATION", "MEMBERS", "BACKLOG"],
            vec!["shards", "orders", &generation.to_string(), "0", "0"],
        ],
        "{listed:#?}"
    );
    let listed = cli(url, &["--format", "json", "groups", "list"])
        .await
        .assert_ok()
        .json();
    assert_eq!(listed["subscriptions"][0]["name"], "shards", "{listed:#}");
    assert_eq!(
        listed["subscriptions"].as_array().map(Vec::len),
        Some(1),
        "{listed:#}"
    );

    info!("assert: a shared subscription is no group");
    let shared = cli(url, &["groups", "describe", "billing"]).await;
    assert_eq!(shared.code, Some(1), "{shared:#?}");
    assert!(
        shared
            .stderr
            .starts_with("error: subscription billing is shared, so it has no consumer group"),
        "{shared:#?}"
    );
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn ctrl_c_makes_a_member_leave_the_group() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    arrange_group(url).await;

    info!("arrange: a member consuming with no limit");
    let args = ["groups", "join", "shards"];
    let member = command(url, &args).spawn().expect("pubsub-cli starts");
    let pid = member.id().expect("the member is running");
    wait_for_members(url, "shards", 1).await;

    info!("act: Ctrl-C");
    let signalled = tokio::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await
        .expect("kill runs");
    assert!(signalled.success(), "kill -INT {pid}: {signalled}");

    info!("assert: it left the group and exited 0");
    let run = finish(member, &args).await.assert_ok();
    assert!(
        run.stderr.contains("left group shards after 0 messages"),
        "{run:#?}"
    );
    let sub = describe_json(url, "shards").await;
    assert!(members(&sub).is_empty(), "{sub:#}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_member_the_broker_dropped_reports_its_lost_session_and_exits_1() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    arrange_group(url).await;

    info!("arrange: a member consuming with no limit");
    let args = ["groups", "join", "shards", "--session-timeout", "6"];
    let member = command(url, &args).spawn().expect("pubsub-cli starts");
    let sub = wait_for_members(url, "shards", 1).await;
    let member_id = members(&sub)[0]["memberId"]
        .as_str()
        .unwrap_or_else(|| panic!("no member id in {sub:#}"))
        .to_owned();
    assert_eq!(members(&sub)[0]["sessionTimeoutSeconds"], 6, "{sub:#}");

    info!("act: the broker drops the member, as it does when a session expires");
    let client = api::Client::new(url, Duration::from_secs(10)).expect("a client");
    client
        .leave_group("shards", &member_id)
        .await
        .expect("the member leaves");

    info!("assert: the member says its session expired and exits 1");
    let run = finish(member, &args).await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    let error = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {run:#?}"));
    assert!(
        error.starts_with(&format!(
            "error: the session of member {member_id} in group shards expired: "
        )),
        "{run:#?}"
    );
    assert!(error.ends_with("(UNKNOWN_MEMBER)"), "{run:#?}");
    assert!(run.stderr.contains("\nhint: "), "{run:#?}");

    info!("assert: a manual pull as that member is refused the same way");
    let pull = cli(url, &["pull", "shards", "--member", &member_id]).await;
    assert_eq!(pull.code, Some(1), "{pull:#?}");
    assert!(pull.stderr.contains("UNKNOWN_MEMBER"), "{pull:#?}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_manual_pull_as_a_member_shows_the_generation() {
    let node = node::TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    arrange_group(url).await;

    info!("arrange: a member joined over the API, and two messages");
    let client = api::Client::new(url, Duration::from_secs(10)).expect("a client");
    let joined = client
        .join_group("shards", &api::types::JoinGroupRequest::default())
        .await
        .expect("joins");
    cli(url, &["publish", "orders", "--data", "a", "--key", "k1"])
        .await
        .assert_ok();
    cli(url, &["publish", "orders", "--data", "b", "--key", "k2"])
        .await
        .assert_ok();

    info!("act and assert: pull --member shows a generation column, JSON the field");
    let table = cli(
        url,
        &[
            "pull",
            "shards",
            "--member",
            &joined.member_id,
            "--max",
            "1",
            "--wait",
            "5",
        ],
    )
    .await
    .assert_ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{table:#?}");
    assert!(
        lines[0].starts_with("MESSAGE ID  ATTEMPT  GENERATION  ORDERING KEY"),
        "{table:#?}"
    );
    assert_eq!(lines[1].split_whitespace().nth(2), Some("1"), "{table:#?}");
    let pulled = cli(
        url,
        &[
            "--format",
            "json",
            "pull",
            "shards",
            "--member",
            &joined.member_id,
            "--wait",
            "5",
        ],
    )
    .await
    .assert_ok()
    .json();
    assert_eq!(
        pulled["receivedMessages"][0]["generation"], joined.generation,
        "{pulled:#}"
    );

    info!("assert: without --member a partitioned subscription refuses the pull");
    let refused = cli(url, &["pull", "shards"]).await;
    assert_eq!(refused.code, Some(1), "{refused:#?}");
    assert!(
        refused.stderr.contains("FAILED_PRECONDITION"),
        "{refused:#?}"
    );
    node.stop().await;
}

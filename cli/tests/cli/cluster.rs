//! `cluster status|rebalance|remove-node` of the real `pubsub-cli` binary
//! against an in-process broker whose metadata knows some cluster nodes.

use crate::support::cli;
use cluster::{Command, NodeId};
use node::TestNode;
use serde_json::Value;
use tracing::info;

async fn propose(node: &TestNode, command: Command) {
    node.broker
        .metadata
        .store()
        .propose(command)
        .await
        .expect("the metadata takes the command");
}

async fn register(node: &TestNode, id: u64) {
    let peer_addr = format!("node-{id}:8082");
    let id = NodeId::new(id);
    propose(node, Command::RegisterNode { id, peer_addr }).await;
}

/// How many partitions node `id` owns, by `cluster status --format json`.
async fn owned_by(url: &str, id: u64) -> u64 {
    let status = cli(url, &["--format", "json", "cluster", "status"])
        .await
        .assert_ok()
        .json();
    status["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == id)
        .and_then(|n| n["partitions"].as_u64())
        .unwrap_or_else(|| panic!("node {id} is not listed: {status:#}"))
}

/// The data rows of the moves table: `[topic, partition, from, to, epoch]`.
fn move_rows(stdout: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        vec!["TOPIC", "PARTITION", "FROM", "TO", "EPOCH"],
        "{stdout}"
    );
    lines
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test_log::test(tokio::test)]
async fn a_dry_run_prints_the_plan_and_the_real_rebalance_carries_it_out() {
    let node = TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    info!("arrange: nodes 1 and 2 own a 12-partition topic; node 3 joins");
    register(&node, 1).await;
    register(&node, 2).await;
    cli(url, &["topics", "create", "orders", "--partitions", "12"])
        .await
        .assert_ok();
    register(&node, 3).await;

    info!("act: rebalance --dry-run");
    let plan = cli(url, &["cluster", "rebalance", "--dry-run"])
        .await
        .assert_ok();

    info!("assert: every planned move goes to node 3, and nothing moved");
    let rows = move_rows(&plan.stdout);
    assert!(!rows.is_empty(), "{plan:#?}");
    for row in &rows {
        assert_eq!(row[0], "orders");
        assert!(row[2] == "1" || row[2] == "2", "{plan:#?}");
        assert_eq!(row[3], "3", "{plan:#?}");
    }
    let summary = format!("dry run: would move {} of 12 partitions (", rows.len());
    let last = plan.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with(&summary), "{plan:#?}");
    assert!(last.ends_with("); nothing was changed"), "{plan:#?}");
    assert_eq!(owned_by(url, 3).await, 0);

    info!("act: the real rebalance");
    let done = cli(url, &["cluster", "rebalance"]).await.assert_ok();

    info!("assert: the same partitions moved, and node 3 owns them");
    let moved = move_rows(&done.stdout);
    let key = |row: &Vec<String>| row[..4].to_vec();
    assert_eq!(
        moved.iter().map(key).collect::<Vec<_>>(),
        rows.iter().map(key).collect::<Vec<_>>()
    );
    let summary = format!("moved {} of 12 partitions (", rows.len());
    assert!(
        done.stdout
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with(&summary),
        "{done:#?}"
    );
    assert_eq!(owned_by(url, 3).await, rows.len() as u64);
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn removing_a_node_moves_its_partitions_and_an_unknown_node_is_an_error() {
    let node = TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    register(&node, 1).await;
    cli(url, &["topics", "create", "orders", "--partitions", "4"])
        .await
        .assert_ok();
    register(&node, 2).await;
    cli(url, &["cluster", "rebalance"]).await.assert_ok();
    let owned = owned_by(url, 2).await;
    assert!(owned > 0, "node 2 should win some of 4 partitions");

    info!("act: remove node 2");
    let removed = cli(url, &["cluster", "remove-node", "2"]).await.assert_ok();
    let rows = move_rows(&removed.stdout);
    assert_eq!(rows.len() as u64, owned, "{removed:#?}");
    assert!(
        rows.iter().all(|r| r[2] == "2" && r[3] == "1"),
        "{removed:#?}"
    );
    assert!(
        removed
            .stdout
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("removed node 2; "),
        "{removed:#?}"
    );
    assert_eq!(owned_by(url, 1).await, 4);

    info!("act: remove node 2 again, and a node that never was");
    for id in ["2", "9"] {
        let run = cli(url, &["cluster", "remove-node", id]).await;
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert_eq!(
            run.stderr.trim(),
            format!("error: node {id} is not a member of the cluster (NOT_FOUND)"),
            "{run:#?}"
        );
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_node_that_is_not_live_makes_status_exit_10_and_say_which() {
    let node = TestNode::start().await.expect("broker starts");
    let url = node.url.as_str();
    register(&node, 1).await;
    register(&node, 2).await;
    cli(url, &["topics", "create", "orders", "--partitions", "3"])
        .await
        .assert_ok();
    let healthy = cli(url, &["cluster", "status", "--owners"])
        .await
        .assert_ok();
    assert!(
        healthy.stdout.contains("PEER ADDRESS") && healthy.stdout.contains("EPOCH"),
        "{healthy:#?}"
    );

    propose(
        &node,
        Command::SetNodeLive {
            id: NodeId::new(2),
            live: false,
        },
    )
    .await;

    let table = cli(url, &["cluster", "status"]).await;
    assert_eq!(table.code, Some(10), "{table:#?}");
    assert_eq!(
        table.stderr.trim(),
        "error: the cluster is unhealthy: node 2 is not live"
    );
    assert!(
        table
            .stdout
            .trim_end()
            .ends_with("unhealthy: node 2 is not live"),
        "{table:#?}"
    );
    let json = cli(url, &["--format", "json", "cluster", "status"]).await;
    assert_eq!(json.code, Some(10), "{json:#?}");
    let status: Value = json.json();
    assert_eq!(status["nodes"][1]["live"], false);
    assert_eq!(status["partitions"].as_array().map(Vec::len), Some(3));
    node.stop().await;
}

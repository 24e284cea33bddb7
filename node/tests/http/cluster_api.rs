//! Cluster operations over the real router, with local metadata: status with
//! nodes and partition owners, `:rebalance` (dry run and real) and removing a
//! node.

use std::collections::BTreeMap;

use cluster::{Command, NodeId};
use http::Method;
use node::broker::Broker;
use serde_json::{Value, json};
use testkit::router::App;
use tracing::info;

/// Each partition's `(node, epoch)`, keyed by `(topic, partition)`, from `GET /v1/cluster`.
type Owners = BTreeMap<(String, u64), (u64, u64)>;

async fn register(broker: &Broker, id: u64) {
    broker
        .metadata
        .store()
        .propose(Command::RegisterNode {
            id: NodeId::new(id),
            peer_addr: format!("node-{id}:8082"),
        })
        .await
        .expect("node registers");
}

async fn status(app: &App) -> Value {
    app.get("/v1/cluster").await.ok().clone()
}

fn owners(status: &Value) -> Owners {
    let partitions = status["partitions"].as_array().expect("partitions");
    partitions
        .iter()
        .map(|p| {
            let key = (
                p["topic"].as_str().expect("topic").to_owned(),
                p["partition"].as_u64().expect("partition"),
            );
            let owner = (
                p["node"].as_u64().expect("owned"),
                p["epoch"].as_u64().expect("epoch"),
            );
            (key, owner)
        })
        .collect()
}

/// `(topic, partition, from, to)` of each move in an answer.
fn moves(answer: &Value) -> Vec<(String, u64, Option<u64>, u64)> {
    answer["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| {
            (
                m["topic"].as_str().expect("topic").to_owned(),
                m["partition"].as_u64().expect("partition"),
                m["from"].as_u64(),
                m["to"].as_u64().expect("to"),
            )
        })
        .collect()
}

fn node_ids(status: &Value) -> Vec<u64> {
    status["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_u64().expect("id"))
        .collect()
}

#[test_log::test(tokio::test)]
async fn a_new_node_gets_partitions_by_rebalance_and_gives_them_back_when_removed() {
    let app = App::memory();
    let broker = app.broker().clone();
    info!("arrange: nodes 1 and 2, a topic with 12 partitions, then node 3 joins");
    register(&broker, 1).await;
    register(&broker, 2).await;
    app.put_topic("orders", json!({"partitions": 12}))
        .await
        .ok();
    register(&broker, 3).await;
    let before = status(&app).await;
    assert_eq!(node_ids(&before), vec![1, 2, 3]);
    let node3 = &before["nodes"][2];
    assert_eq!(node3["peerAddr"], "node-3:8082");
    assert_eq!(node3["live"], true);
    assert_eq!(node3["voter"], false, "local metadata has no voters");
    assert_eq!(node3["partitions"], 0, "joining takes nothing by itself");
    let owners_before = owners(&before);
    assert_eq!(owners_before.len(), 12);
    let listed: Vec<u64> = owners_before.keys().map(|(_, p)| *p).collect();
    assert_eq!(listed, (0..12).collect::<Vec<_>>(), "sorted by partition");
    let owned_by = |node: u64| owners_before.values().filter(|(n, _)| *n == node).count();
    assert_eq!(before["nodes"][0]["partitions"], owned_by(1));
    assert_eq!(owned_by(1) + owned_by(2), 12);

    info!("act: a dry run");
    let plan = app
        .json(
            Method::POST,
            "/v1/cluster:rebalance",
            json!({"dryRun": true}),
        )
        .await;
    let plan = plan.ok();

    info!("assert: the plan moves some partitions to node 3, and nothing changed");
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["partitions"], 12);
    let planned = moves(plan);
    assert!(
        !planned.is_empty(),
        "node 3 should win some of 12: {plan:#}"
    );
    for (topic, partition, from, to) in &planned {
        assert_eq!(*to, 3, "{plan:#}");
        let (owner, _) = owners_before[&(topic.clone(), *partition)];
        assert_eq!(*from, Some(owner), "{plan:#}");
    }
    assert_eq!(owners(&status(&app).await), owners_before);

    info!("act: the real rebalance, with no body");
    let done = app
        .send(Method::POST, "/v1/cluster:rebalance", &[], Vec::new())
        .await;
    let done = done.ok().clone();

    info!("assert: the planned moves were committed with higher epochs");
    assert_eq!(done["dryRun"], false);
    assert_eq!(done["partitions"], 12);
    assert_eq!(moves(&done), planned);
    let after = owners(&status(&app).await);
    for (key, (node, epoch)) in &after {
        let (old_node, old_epoch) = owners_before[key];
        if planned.iter().any(|m| (&m.0, m.1) == (&key.0, key.1)) {
            assert_eq!(*node, 3, "{key:?}");
            assert!(
                *epoch > old_epoch,
                "{key:?}: epoch {epoch} after {old_epoch}"
            );
        } else {
            assert_eq!((*node, *epoch), (old_node, old_epoch), "{key:?} moved");
        }
    }
    let again = app
        .json(Method::POST, "/v1/cluster:rebalance", json!({}))
        .await;
    assert!(
        moves(again.ok()).is_empty(),
        "a second rebalance moves nothing"
    );

    info!("act: remove node 3");
    let removed = app.delete("/v1/cluster/nodes/3").await;
    let removed = removed.ok().clone();

    info!("assert: its partitions went back to their first owners, with new epochs");
    assert_eq!(removed["nodeId"], 3);
    let back = moves(&removed);
    assert_eq!(back.len(), planned.len());
    let final_status = status(&app).await;
    assert_eq!(node_ids(&final_status), vec![1, 2]);
    for (key, (node, epoch)) in owners(&final_status) {
        let (first_node, _) = owners_before[&key];
        assert_eq!(node, first_node, "{key:?}");
        let (node_after, epoch_after) = after[&key];
        if node_after == 3 {
            assert!(
                epoch > epoch_after,
                "{key:?}: a new owner takes a new epoch"
            );
        } else {
            assert_eq!(epoch, epoch_after, "{key:?} moved without cause");
        }
    }
    for (topic, partition, from, to) in &back {
        assert_eq!(*from, Some(3));
        assert_eq!(owners_before[&(topic.clone(), *partition)].0, *to);
    }
}

#[test_log::test(tokio::test)]
async fn bad_node_operations_get_problem_json() {
    let app = App::memory();
    let broker = app.broker().clone();
    register(&broker, 1).await;
    let remove = |path: &'static str| app.delete(path);

    let unknown = remove("/v1/cluster/nodes/9").await;
    let detail = unknown.problem(404, "NOT_FOUND");
    assert!(detail.contains("node 9"), "{detail}");
    remove("/v1/cluster/nodes/abc")
        .await
        .problem(400, "INVALID_ARGUMENT");
    remove("/v1/cluster/nodes/-1")
        .await
        .problem(400, "INVALID_ARGUMENT");
    app.send(Method::POST, "/v1/cluster/nodes/1", &[], Vec::new())
        .await
        .problem(405, "METHOD_NOT_ALLOWED");
    app.json(
        Method::POST,
        "/v1/cluster:rebalance",
        json!({"dryRun": "yes"}),
    )
    .await
    .problem(400, "INVALID_ARGUMENT");
    app.json(
        Method::POST,
        "/v1/cluster:rebalance",
        json!({"dry_run": true}),
    )
    .await
    .problem(400, "INVALID_ARGUMENT");

    info!("assert: node 1 is still there after all of that");
    assert_eq!(node_ids(&status(&app).await), vec![1]);
}

#[test_log::test(tokio::test)]
async fn a_node_marked_down_shows_as_not_live_and_owns_nothing() {
    let app = App::memory();
    let broker = app.broker().clone();
    register(&broker, 1).await;
    register(&broker, 2).await;
    app.put_topic("events", json!({"partitions": 6})).await.ok();
    broker
        .metadata
        .store()
        .propose(Command::SetNodeLive {
            id: NodeId::new(2),
            live: false,
        })
        .await
        .expect("node 2 goes down");
    let status = status(&app).await;
    assert_eq!(status["nodes"][1]["live"], false);
    assert_eq!(status["nodes"][1]["partitions"], 0);
    assert_eq!(status["nodes"][0]["partitions"], 6);
    assert!(owners(&status).values().all(|(node, _)| *node == 1));
}

#[test_log::test(tokio::test)]
async fn partitions_without_a_live_node_are_listed_without_an_owner() {
    let app = App::memory();
    app.put_topic("orders", json!({"partitions": 2})).await.ok();
    let status = status(&app).await;
    assert_eq!(status["nodes"], json!([]));
    assert_eq!(
        status["partitions"],
        json!([
            {"topic": "orders", "partition": 0},
            {"topic": "orders", "partition": 1},
        ])
    );
}

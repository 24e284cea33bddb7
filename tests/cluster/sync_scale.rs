//! Storage sync at scale: with 10,000 partitions, each applied metadata
//! change costs a node's storage sync work in proportion to what it changed
//! (`pubsubgo_metadata_sync_items_total`), not to the size of the metadata.

use std::time::{Duration, Instant};

use testkit::{Storage, TestCluster, wait_for};

use crate::support::{all_registered, create_topic};

const TOPICS: u32 = 10;
const PARTITIONS: u32 = 1_000;

/// Topics, subscriptions and partitions node `id`'s storage sync looked at so far.
fn items(cluster: &TestCluster, id: u64) -> u64 {
    cluster.node(id).broker.metrics.routing.sync_items.get()
}

/// Partitions node `id` owns, as node 1 has applied it.
fn owned_by(cluster: &TestCluster, id: u64) -> u64 {
    cluster
        .node(1)
        .consensus
        .read_local(|md| md.placement().owned_by(cluster::NodeId::new(id)).count() as u64)
}

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn with_ten_thousand_partitions_a_change_costs_what_it_changed() -> anyhow::Result<()> {
    tracing::info!("arrange: three nodes, {TOPICS} topics of {PARTITIONS} partitions");
    let mut cluster = TestCluster::start(3, Storage::Memory).await?;
    all_registered(&cluster).await?;
    for t in 0..TOPICS {
        create_topic(&cluster.client(1), &format!("wide-{t}"), PARTITIONS).await?;
    }
    let total = u64::from(TOPICS * PARTITIONS);
    wait_for("every partition owned", Duration::from_secs(30), || async {
        let owned: u64 = (1..=3).map(|id| owned_by(&cluster, id)).sum();
        (owned == total).then_some(())
    })
    .await?;

    tracing::info!("act: one more topic of one partition");
    let before = items(&cluster, 1);
    create_topic(&cluster.client(2), "narrow", 1).await?;
    let seen = wait_for(
        "node 1 synced the new topic",
        Duration::from_secs(10),
        || async {
            let delta = items(&cluster, 1) - before;
            (delta >= 2).then_some(delta)
        },
    )
    .await?;
    tracing::info!(
        items = seen,
        "assert: a handful of items, not the whole metadata"
    );
    assert!(
        seen <= 16,
        "node 1 looked at {seen} items to follow one new one-partition topic \
         ({total} partitions exist): storage sync re-reads everything"
    );

    tracing::info!("act: node 3 stops, its partitions move to nodes 1 and 2");
    let moving = owned_by(&cluster, 3);
    let before = items(&cluster, 1);
    let began = Instant::now();
    cluster.stop(3).await?;
    let seen = wait_for(
        "node 1 synced the moves",
        Duration::from_secs(30),
        || async {
            let delta = items(&cluster, 1) - before;
            (delta >= moving).then_some(delta)
        },
    )
    .await?;
    let took = began.elapsed();
    tracing::info!(
        moving,
        items = seen,
        ?took,
        "assert: work in proportion to the moves"
    );
    assert!(
        seen <= moving + 64,
        "node 1 looked at {seen} items for {moving} moved partitions ({total} exist)"
    );
    assert_eq!(owned_by(&cluster, 3), 0, "node 3 handed everything over");
    Ok(())
}

//! Three brokers: the overview and the cluster page show every node, and a
//! rebalance dry run from the console lists its moves without making them.

use testkit::cluster::{Storage, TestCluster, wait_for};

use crate::page::{nav, open_console, outside_requests, shot, wait_text};
use crate::webdriver::{Browser, WAIT};

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn the_console_of_a_three_node_cluster_shows_every_node_and_a_rebalance_dry_run()
-> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    let client = cluster.client(1);
    wait_for("three live nodes", WAIT, || async {
        let status = client.cluster_status().await.ok()?;
        (status.nodes.iter().filter(|n| n.live).count() == 3).then_some(())
    })
    .await?;
    client
        .create_topic("spread", &testkit::client::topic(6))
        .await?;

    let base = format!("http://{}", cluster.node(1).client_addr);
    let browser = Browser::start("three-nodes").await?;
    open_console(&browser, &base).await?;
    wait_text(&browser, "#stat-nodes", "3 / 3").await?;
    shot(&browser, "01-overview").await?;

    nav(&browser, "cluster").await?;
    browser
        .wait_for(
            "three nodes and six partition owners",
            "document.querySelectorAll('#cluster-nodes tbody tr').length === 3 \
             && document.querySelectorAll('#cluster-owners tbody tr').length === 6",
        )
        .await?;
    let before = client.cluster_status().await?.partitions;
    browser.click("#rebalance-dry-run").await?;
    browser
        .wait_for(
            "the dry run",
            "document.getElementById('rebalance-summary')?.textContent.startsWith('Dry run')",
        )
        .await?;
    shot(&browser, "02-cluster-dry-run").await?;
    let after = client.cluster_status().await?.partitions;
    anyhow::ensure!(before == after, "a dry run moves nothing");

    let outside = outside_requests(&browser, &base).await?;
    anyhow::ensure!(
        outside.is_empty(),
        "requests outside the server: {outside:?}"
    );
    browser.quit().await;
    cluster.shutdown().await;
    Ok(())
}

//! The automatic rebalance: a node that crashed and comes back gets its
//! partitions back without an operator, at most `moves_per_second` of them per
//! second, none before its cool-down since it last moved.

use std::collections::BTreeMap;
use std::time::Duration;

use testkit::{AutoRebalance, Storage, TestCluster, wait_for};

use crate::ownership::{
    most_in_one_second, owners, rebalance_moves, rendezvous, return_bound, wait_settled,
};
use crate::support::{all_registered, create_topic};

const PARTITIONS: u32 = 48;
const REBALANCE: AutoRebalance = AutoRebalance {
    moves_per_second: 3,
    cooldown_seconds: 4,
};

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_node_back_from_a_crash_gets_its_partitions_back_at_a_bounded_rate() -> anyhow::Result<()>
{
    tracing::info!("arrange: three nodes on Redis with the automatic rebalance on");
    let mut cluster =
        TestCluster::start_rebalancing(3, Storage::shared_redis(), Some(REBALANCE)).await?;
    all_registered(&cluster).await?;
    create_topic(&cluster.client(1), "auto", PARTITIONS).await?;
    let home = rendezvous("auto", PARTITIONS, &[1, 2, 3]);
    let of_3 = home.iter().filter(|&&n| n == 3).count();
    assert!(of_3 >= 2 * REBALANCE.moves_per_second as usize, "{home:?}");
    wait_settled(&cluster, &[1, 2, 3], Duration::from_secs(10)).await?;

    tracing::info!(of_3, "act: node 3 crashes; its partitions move away");
    cluster.kill(3).await;
    wait_settled(&cluster, &[1, 2], Duration::from_secs(20)).await?;
    let moved_before = rebalance_moves(&cluster);

    tracing::info!("act: node 3 starts again; nobody runs a rebalance");
    cluster.restart(3).await?;
    wait_for("node 3 live", Duration::from_secs(30), || async {
        crate::support::live_everywhere(&cluster, 3).then_some(())
    })
    .await?;
    let bound = return_bound(of_3, REBALANCE);
    let took = wait_settled(&cluster, &[1, 2, 3], bound).await?;
    tracing::info!(?took, ?bound, "assert: back on the rendezvous owners");
    let now: Vec<Option<u64>> = owners(&cluster, 1).into_values().collect();
    assert_eq!(now, home.iter().map(|&n| Some(n)).collect::<Vec<_>>());

    tracing::info!("assert: the moves respected the rate and the cool-down");
    let status = cluster.client(1).cluster_status().await?;
    let rebalance = status.rebalance.expect("a cluster reports its rebalance");
    assert!(
        rebalance.auto && rebalance.pending.is_empty(),
        "{rebalance:?}"
    );
    let mut away = BTreeMap::new();
    for m in &rebalance.recent_moves {
        if m.from == Some(3) {
            away.insert(m.partition, m.at_millis);
        }
    }
    let back: Vec<_> = rebalance
        .recent_moves
        .iter()
        .filter(|m| m.to == 3)
        .collect();
    assert_eq!(back.len(), of_3, "each partition came back once: {back:?}");
    assert_eq!(away.len(), of_3, "{:?}", rebalance.recent_moves);
    for m in &back {
        let waited = m.at_millis.saturating_sub(away[&m.partition]);
        // Both times are node 1's apply times; the leader judged the
        // cool-down by its own, which differ by the replication delay.
        assert!(
            waited + 300 >= REBALANCE.cooldown_seconds * 1_000,
            "partition {} came back {waited} ms after it left",
            m.partition
        );
    }
    let per_second = most_in_one_second(&back);
    let first = back.iter().map(|m| m.at_millis).min().unwrap_or(0);
    let last = back.iter().map(|m| m.at_millis).max().unwrap_or(0);
    let steps = of_3.div_ceil(REBALANCE.moves_per_second as usize) as u64;
    tracing::info!(per_second, spread_ms = last - first, steps, "rate");
    // One step per second; two steps may land in one second of apply times
    // when the first one's commit was slow.
    assert!(per_second <= 2 * REBALANCE.moves_per_second as usize);
    assert!(
        last - first + 1_500 >= (steps - 1) * 1_000,
        "{of_3} moves in {} ms: faster than {} per second",
        last - first,
        REBALANCE.moves_per_second
    );
    assert_eq!(
        rebalance_moves(&cluster) - moved_before,
        of_3 as u64,
        "pubsubgo_rebalance_moves_total counts each move once"
    );
    cluster.shutdown().await;
    Ok(())
}

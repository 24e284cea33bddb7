//! The `redis-failover` fault on the run's Redis Cluster (`redis_cluster`),
//! as the nemesis applies, undoes and heals it, and what the scenario
//! promises: which ack levels survive an unplanned failover.
//!
//! Apply: wait (≤ 30 s) until the cluster is whole, then `kill -9` the
//! current primary of shard `node mod 3` (1–3); after the
//! cluster-node-timeout (2 s) its replica is elected and promoted.
//! Undo: wait (≤ 10 s) for that promotion, then restart the old primary on
//! its AOF and `nodes.conf`: it rejoins as the new primary's replica and
//! resynchronises from it, dropping whatever it had that the replica lacked.
//! Heal: restart any Redis still down and wait (≤ 30 s) until the cluster
//! is whole again (every primary with a replica whose link is up).

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::checkers::Promises;
use crate::procs::Procs;
use crate::redis_cluster::SHARDS;
use crate::workload::{self, DEAD, NACKED};

/// The ack level whose promise survives an unplanned failover: the primary
/// stored the batch and `WAIT 1` saw the one replica confirm it, and that
/// replica is the one promoted. `leader` (the primary alone) and `fsynced`
/// (the primary's own AOF, which the old primary discards when it rejoins as
/// a replica) may lose what the replica had not received: measured.
pub const SURVIVING: &str = "replicated:1";

/// What a `redis-failover` run asserts: acknowledged publishes survive at
/// [`SURVIVING`] only; the dead-letter accounting is on `leader` topics
/// (`q-nack`, `q-dead`), so measured.
pub fn promises() -> Promises {
    Promises {
        surviving_ack_levels: vec![SURVIVING.to_owned()],
        recovery_bound_ms: 30_000,
        dead_letter: Some(workload::dead_letter_policy()),
        exactly_once: vec![workload::ONCE.0.to_owned()],
    }
}

/// The topics whose ack level does not survive a failover: their data
/// properties are measured, not asserted (`checkers::check_by_level`).
pub fn measured_topics() -> BTreeSet<String> {
    let mut topics: BTreeSet<String> = workload::CLUSTER_TOPICS
        .iter()
        .filter(|(_, level)| *level != SURVIVING)
        .map(|(topic, _)| (*topic).to_owned())
        .collect();
    topics.extend([NACKED.1.to_owned(), DEAD.1.to_owned()]);
    topics
}

/// Broker bugs this scenario found, not fixed yet: printed and recorded
/// (`KNOWN`), not asserted, in this scenario only. Empty: the last one (a
/// failed cluster write answered as definite) is fixed.
pub const KNOWN_ISSUES: [(&str, &str); 0] = [];

/// The CI suite's `--time-limit` for `redis-failover` (when the suite's is
/// longer): 10 s of faults, one failover, so the run stays near 40 s (its
/// setup and drain are longer than the standalone scenarios').
pub const CI_TIME_LIMIT: u64 = 15;

/// How long the undo waits for the replica's promotion.
const PROMOTION_WITHIN: Duration = Duration::from_secs(10);
/// How long the heal waits for the cluster to be whole.
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

/// The shard (1–3) a step's target names.
pub fn shard(node: u64) -> u64 {
    (node.max(1) - 1) % SHARDS + 1
}

/// Kills the primary of the shard `node` names.
pub fn apply(procs: &mut Procs, node: u64) -> Result<()> {
    let cluster = procs
        .redis_cluster()
        .context("redis-failover needs the Redis Cluster")?;
    let shard = shard(node);
    // Each failover starts from a whole cluster: the last one's old primary
    // back as a replica and in sync, so this one has a replica to promote.
    if let Err(error) = cluster.wait_healthy(HEALTHY_WITHIN) {
        eprintln!("  redis-failover: {error:#}; failing over anyway");
    }
    match cluster.kill_primary(shard) {
        Ok(killed) => {
            eprintln!("  redis-failover: kill -9 redis-{killed}, the primary of shard {shard}");
        }
        // Nothing killed, nothing to undo; the run goes on.
        Err(error) => eprintln!("  redis-failover: nothing killed: {error:#}"),
    }
    Ok(())
}

/// Restarts the killed primary once its replica is promoted.
pub fn undo(procs: &mut Procs) -> Result<()> {
    let cluster = procs
        .redis_cluster()
        .context("redis-failover needs the Redis Cluster")?;
    if let Some((redis, promoted)) = cluster.restore(PROMOTION_WITHIN)? {
        let how = if promoted {
            "its replica was promoted; it rejoins as a replica"
        } else {
            "NO promotion seen; it comes back as the primary"
        };
        eprintln!("  redis-failover: restart redis-{redis}: {how}");
    }
    Ok(())
}

/// Restarts every Redis still down and waits until the cluster is whole;
/// nothing without a cluster.
pub fn heal(procs: &mut Procs) -> Result<()> {
    let Some(cluster) = procs.redis_cluster() else {
        return Ok(());
    };
    cluster.restart_dead()?;
    if let Err(error) = cluster.wait_healthy(HEALTHY_WITHIN) {
        // The brokers' readiness and the recovery checker judge the heal.
        eprintln!("  {error:#}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test_log::test]
    fn every_target_names_one_of_the_three_shards() {
        let shards: Vec<u64> = (0..=7).map(shard).collect();
        assert_eq!(shards, [1, 1, 2, 3, 1, 2, 3, 1]);
    }
}

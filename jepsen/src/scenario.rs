//! Scenarios and the seeded nemesis schedule: which faults a scenario injects,
//! and when, on which node, for how long. The same seed gives the same schedule.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// `kill -9` a node; restart it when the fault ends.
    Kill,
    /// SIGSTOP a node; SIGCONT when the fault ends.
    Pause,
    /// Cut a node from everyone: other brokers, Redis and the clients.
    Isolate,
    /// Cut a node from the other brokers while it still reaches Redis and its
    /// clients: the stale-owner case the epoch fence exists for.
    BrokersSplit,
    /// Cut every broker from Redis.
    RedisCut,
    /// Drop 20% of all packets on the bridge.
    Loss,
    /// `kill -9` a node and delete its data directory; restart it empty.
    Wipe,
    /// Restart a node with its wall clock 30 s ahead or behind (the server's
    /// test-only clock offset); restart it with the right time when the fault
    /// ends.
    Skew,
    /// `kill -9` the primary of a Redis Cluster shard (the step's `node`,
    /// taken modulo 3) so its replica is promoted; restart the old primary,
    /// which rejoins as a replica, when the fault ends (`redis_cluster`).
    RedisFailover,
    /// Cut the links between the other brokers while every one of them still
    /// reaches the target node (the bridge), Redis and the clients.
    Bridge,
    /// `kill -9` a node; when the fault ends, restart it cut from the other
    /// brokers (it reaches Redis and its clients) and heal that cut
    /// [`RESTART_CUT`] later: a node back from a crash that cannot hear the
    /// leader yet, so its metadata is what it had before (`nemesis`).
    KillSplit,
    /// Scale out: start a broker with an id outside the voter set, which joins
    /// as a non-voting member and receives partitions; scale in when the
    /// fault ends (SIGTERM: it drains and leaves). `membership.rs`.
    Member,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::KillSplit => "kill-split",
            Fault::Pause => "pause",
            Fault::Isolate => "isolate",
            Fault::BrokersSplit => "brokers-split",
            Fault::RedisCut => "redis-cut",
            Fault::Loss => "loss",
            Fault::Wipe => "wipe",
            Fault::Skew => "skew",
            Fault::RedisFailover => "redis-failover",
            Fault::Bridge => "bridge",
            Fault::Member => "member",
        }
    }

    /// Whether the fault has a target node among the voters (a `member`
    /// step's node is the member's id, the one after the voters').
    pub fn targets_node(self) -> bool {
        !matches!(self, Fault::RedisCut | Fault::Loss | Fault::Member)
    }
}

/// How long a `kill-split` step's restarted node stays cut from the other
/// brokers, beyond the step's duration.
pub const RESTART_CUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A named set of faults.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub faults: Vec<Fault>,
    /// In the CI selection (`--suite ci`).
    pub ci: bool,
}

impl Scenario {
    /// Whether a fault needs the server built with the test-only settings
    /// (`jepsen/build-breaks`): the clock offset.
    pub fn needs_breaks_server(&self) -> bool {
        self.faults.contains(&Fault::Skew)
    }

    /// Whether the run's storage is a Redis Cluster of 3 primaries with a
    /// replica each (`redis_cluster`) rather than one standalone Redis.
    pub fn redis_cluster(&self) -> bool {
        self.faults.contains(&Fault::RedisFailover)
    }
}

/// Every scenario, in `--list` order: name, what it does, its faults, in CI.
const SCENARIOS: [(&str, &str, &[Fault], bool); 14] = {
    use Fault::*;
    [
        (
            "none",
            "no faults: the workload and the checkers alone",
            &[],
            false,
        ),
        ("kill", "kill -9 a node, restart it", &[Kill], true),
        (
            "kill-split",
            "kill -9 a node, restart it cut from the other brokers for 3 s",
            &[KillSplit],
            false,
        ),
        (
            "pause",
            "SIGSTOP a node for 3-6 s, SIGCONT",
            &[Pause],
            false,
        ),
        ("isolate", "cut a node from everyone", &[Isolate], true),
        (
            "brokers-split",
            "cut a node from the other brokers; it still reaches Redis",
            &[BrokersSplit],
            true,
        ),
        (
            "redis-cut",
            "cut every broker from Redis",
            &[RedisCut],
            true,
        ),
        ("loss", "drop 20% of packets on the bridge", &[Loss], false),
        (
            "wipe",
            "kill -9 a node, delete its data directory, restart it",
            &[Wipe],
            true,
        ),
        (
            "skew",
            "restart a node with its clock 30 s ahead or behind (breaks server)",
            &[Skew],
            true,
        ),
        (
            "bridge",
            "cut two nodes from each other; both still reach the third",
            &[Bridge],
            true,
        ),
        (
            "membership",
            "scale out (a non-voting member joins), then in (it drains)",
            &[Member],
            true,
        ),
        (
            "mixed",
            "any of the faults above but skew and membership, one at a time",
            &[
                Kill,
                Pause,
                Isolate,
                BrokersSplit,
                RedisCut,
                Loss,
                Wipe,
                Bridge,
            ],
            false,
        ),
        (
            "redis-failover",
            "Redis Cluster: kill -9 a shard's primary, its replica promoted",
            &[RedisFailover],
            true,
        ),
    ]
};

/// Every scenario, in `--list` order.
pub fn all() -> Vec<Scenario> {
    SCENARIOS
        .iter()
        .map(|&(name, about, faults, ci)| Scenario {
            name,
            about,
            faults: faults.to_vec(),
            ci,
        })
        .collect()
}

/// The scenario called `name`.
pub fn named(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Milliseconds after the faults phase begins.
    pub at_ms: u64,
    pub fault: Fault,
    pub node: Option<u64>,
    pub duration_ms: u64,
}

/// The schedule of `faults` over `window_ms` on `nodes` nodes for `seed`:
/// faults one at a time, 4-9 s each (long enough for owners to move), 1.5-3.5 s apart.
pub fn schedule(faults: &[Fault], nodes: u64, window_ms: u64, seed: u64) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut steps = Vec::new();
    if faults.is_empty() {
        return steps;
    }
    let mut at = rng.random_range(500..2_000);
    loop {
        let fault = faults[rng.random_range(0..faults.len())];
        let duration_ms = rng.random_range(4_000..9_000);
        if at + duration_ms > window_ms {
            return steps;
        }
        let node = if fault == Fault::Member {
            Some(nodes + 1)
        } else {
            fault.targets_node().then(|| rng.random_range(1..=nodes))
        };
        steps.push(Step {
            at_ms: at,
            fault,
            node,
            duration_ms,
        });
        at += duration_ms + rng.random_range(1_500..3_500);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test_log::test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        let faults = named("mixed").expect("mixed").faults;
        let a = schedule(&faults, 3, 60_000, 7);
        assert!(a.len() >= 5, "{a:?}");
        assert_eq!(a, schedule(&faults, 3, 60_000, 7));
        assert_ne!(a, schedule(&faults, 3, 60_000, 8));
        assert!(a.iter().all(|s| s.at_ms + s.duration_ms <= 60_000));
        assert!(
            a.windows(2)
                .all(|w| w[0].at_ms + w[0].duration_ms < w[1].at_ms)
        );
    }

    #[test_log::test]
    fn a_member_step_names_the_id_after_the_voters_and_a_bridge_a_voter() {
        let steps = schedule(&[Fault::Member], 3, 30_000, 1);
        assert!(!steps.is_empty() && steps.iter().all(|s| s.node == Some(4)));
        let steps = schedule(&[Fault::Bridge], 3, 30_000, 1);
        assert!(
            steps
                .iter()
                .all(|s| s.node.is_some_and(|n| (1..=3).contains(&n)))
        );
    }

    #[test_log::test]
    fn only_skew_needs_the_server_with_the_test_settings() {
        let needing: Vec<_> = all()
            .into_iter()
            .filter(Scenario::needs_breaks_server)
            .map(|s| s.name)
            .collect();
        assert_eq!(needing, ["skew"]);
        assert!(named("kill").is_some_and(|s| s.ci) && named("nope").is_none());
    }

    #[test_log::test]
    fn only_redis_failover_runs_on_a_redis_cluster() {
        let clustered: Vec<_> = all()
            .into_iter()
            .filter(Scenario::redis_cluster)
            .map(|s| s.name)
            .collect();
        assert_eq!(clustered, ["redis-failover"]);
    }
}

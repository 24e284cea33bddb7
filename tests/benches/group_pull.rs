//! Pull latency of a consumer-group member through a follower, on a real
//! three-node cluster (in-process nodes on loopback ports, memory storage):
//!
//! - **steady**: a member that joined long ago pulls (`waitSeconds: 0`, an
//!   empty backlog) through a follower: the member lookup finds it locally,
//!   the path every pull but a member's first takes;
//! - **first pull after a join**: a member joins through one follower and at
//!   once pulls through the other, which may not have applied the join yet
//!   and then waits for a Raft read index before answering.
//!
//! `cargo bench -p pubsubgo-tests --bench group_pull` (release build). Not a
//! test: it asserts nothing and prints percentiles and answer counts.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use api::client::Client;
use api::types::{CreateSubscriptionRequest, JoinGroupRequest, PullRequest, SubscriptionType};
use testkit::client::topic;
use testkit::{Storage, TestCluster, wait_for};

const STEADY_PULLS: usize = 3_000;
const JOIN_ROUNDS: usize = 500;
const SUB: &str = "bench-group";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, Storage::Memory).await?;
    let leader = wait_for("a leader", Duration::from_secs(10), || async {
        cluster.leader()
    })
    .await?;
    let followers: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    let (via_leader, via_a, via_c) = (
        cluster.client(leader),
        cluster.client(followers[0]),
        cluster.client(followers[1]),
    );
    via_leader.create_topic("bench-topic", &topic(3)).await?;
    let request = CreateSubscriptionRequest {
        topic: "bench-topic".to_owned(),
        kind: Some(SubscriptionType::Partitioned),
        ..CreateSubscriptionRequest::default()
    };
    via_leader.create_subscription(SUB, &request).await?;

    let member = via_leader.join_group(SUB, &join()).await?;
    // Let every node apply the join before the steady pulls.
    wait_for(
        "the follower knows the member",
        Duration::from_secs(10),
        || async { pull(&via_c, &member.member_id).await.0.then_some(()) },
    )
    .await?;
    let mut steady = Vec::with_capacity(STEADY_PULLS);
    for _ in 0..STEADY_PULLS {
        let (ok, took) = pull(&via_c, &member.member_id).await;
        assert!(ok, "a steady pull failed");
        steady.push(took);
    }
    report("steady pull through a follower", &mut steady)?;

    let mut first = Vec::with_capacity(JOIN_ROUNDS);
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..JOIN_ROUNDS {
        let joined = via_a.join_group(SUB, &join()).await?;
        let started = Instant::now();
        let answer = via_c.pull(SUB, &pull_request(&joined.member_id)).await;
        first.push(started.elapsed());
        let key = match answer {
            Ok(_) => "200".to_owned(),
            Err(e) => e
                .problem()
                .map_or_else(|| e.to_string(), |p| format!("{:?}", p.code)),
        };
        *answers.entry(key).or_default() += 1;
        via_a.leave_group(SUB, &joined.member_id).await?;
    }
    report(
        "first pull through the other follower right after a join",
        &mut first,
    )?;
    writeln!(std::io::stdout(), "  answers: {answers:?}")?;
    cluster.shutdown().await;
    Ok(())
}

fn join() -> JoinGroupRequest {
    JoinGroupRequest {
        session_timeout_seconds: Some(120),
    }
}

fn pull_request(member: &str) -> PullRequest {
    PullRequest {
        max_messages: Some(10),
        wait_seconds: Some(0),
        member_id: Some(member.to_owned()),
    }
}

/// One pull as `member`: whether it succeeded, and how long it took.
async fn pull(client: &Client, member: &str) -> (bool, Duration) {
    let started = Instant::now();
    let ok = client.pull(SUB, &pull_request(member)).await.is_ok();
    (ok, started.elapsed())
}

fn report(what: &str, samples: &mut [Duration]) -> std::io::Result<()> {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    writeln!(
        std::io::stdout(),
        "{what} ({} calls): p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        samples.len(),
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

//! The `member` fault: membership change under load (issue 15's lifecycle,
//! `docs/cluster.md`, "Voters and members"). One step is one cycle:
//!
//! 1. **Scale out.** A broker with the id after the voters' (`N + 1`) starts
//!    in a namespace and at an address of its own, with the voters'
//!    `PUBSUB_PEERS` and its own `PUBSUB_ADVERTISE_ADDR`, so it joins as a
//!    non-voting member (a Raft learner). The cycle waits (bounded) until a
//!    voter lists it as a learner and it owns partitions (the automatic
//!    rebalance's share), observing the cluster through every node.
//! 2. **Load through it.** Two publishers (one keyed with idempotency keys)
//!    and a puller per shared subscription talk to the member while it lives
//!    (the pullers stop at the scale-in, the publishers once it exited),
//!    besides the run's workers on the voters; every partition the member
//!    owns is also written and read through the voters (routed to it).
//! 3. **Hold** for the step's duration from then on (so every cycle serves
//!    with the member for 4-9 s however long the join took), observing
//!    every 500 ms.
//! 4. **Scale in.** SIGTERM: the member drains (its partitions move away
//!    through Raft) and leaves the membership, then exits by itself. The
//!    cycle waits (bounded) for the exit and until every voter's view has
//!    forgotten it and has every partition on a live voter, then stops the
//!    member's clients.
//!
//! Every observation is a `cluster` operation in the history, which the
//! checks of `checkers/membership.rs` read. The same id and data directory
//! serve every cycle of a run, as a StatefulSet's next pod would.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::consumer::Consumer;
use crate::history::{Event, Op};
use crate::net::{self, Net};
use crate::observer::observe_all;
use crate::procs::{PEER_PORT, Procs};
use crate::recorder::Recorder;
use crate::scenario::{Fault, Scenario, Step};
use crate::workload::{self, PACE, SHARED, TOPICS};

/// How long a member may take to join and receive partitions.
const JOIN_BOUND: Duration = Duration::from_secs(30);
/// How long a member may take, after SIGTERM, to drain, leave and exit, and
/// the voters to forget it (the server's own drain gives up after 15 s).
const LEAVE_BOUND: Duration = Duration::from_secs(40);
/// How long the member's pullers may take to finish their last pull and ack.
const PULLERS_BOUND: Duration = Duration::from_secs(10);
/// Between two observation rounds while waiting.
const POLL: Duration = Duration::from_millis(250);
/// Between two observation rounds while the member holds.
const SAMPLE: Duration = Duration::from_millis(500);
/// The automatic rebalance's cool-down in a run with this fault: the
/// default 30 s would keep a member that joins seconds after the topics
/// were created (or after the last cycle moved them) from getting any.
const COOLDOWN_SECONDS: &str = "2";

/// Cycles so far in this run: each cycle's publishers take fresh worker
/// numbers, so values stay unique in the run.
static CYCLES: AtomicU64 = AtomicU64::new(0);

/// Extra environment of every node in `scenario`: a short rebalance
/// cool-down when it changes membership.
pub fn node_env(scenario: &Scenario) -> Vec<(String, String)> {
    if scenario.faults.contains(&Fault::Member) {
        vec![(
            "PUBSUB_REBALANCE_COOLDOWN_SECONDS".to_owned(),
            COOLDOWN_SECONDS.to_owned(),
        )]
    } else {
        Vec::new()
    }
}

fn with_procs<T>(procs: &Mutex<Procs>, f: impl FnOnce(&mut Procs) -> Result<T>) -> Result<T> {
    let mut procs = procs
        .lock()
        .map_err(|_| anyhow::anyhow!("process table poisoned"))?;
    f(&mut procs)
}

fn nemesis_event(recorder: &Recorder, f: Op, id: u64, error: Option<String>) {
    let mut event = Event::nemesis(0, f, Fault::Member.name());
    event.node = Some(id);
    event.error = error;
    recorder.record(event);
}

/// Client tasks.
type Tasks = Vec<JoinHandle<()>>;

/// The member's clients of cycle `cycle`: two publishers (workers `10c`,
/// keyed, to `q-fsynced`, and `10c + 1`, unkeyed, to `q-leader`) and a
/// puller of each shared subscription, which stop (after their last ack)
/// when `stop` is set.
fn clients(
    recorder: &Arc<Recorder>,
    id: u64,
    cycle: u64,
    stop: &Arc<AtomicBool>,
) -> Result<(Tasks, Tasks)> {
    let worker = 10 * cycle;
    let publishers = vec![
        tokio::spawn(ignore(workload::publish(
            recorder.clone(),
            worker,
            id,
            TOPICS[1],
            true,
            PACE,
        ))),
        tokio::spawn(ignore(workload::publish(
            recorder.clone(),
            worker + 1,
            id,
            TOPICS[0],
            false,
            PACE,
        ))),
    ];
    let mut pullers = Vec::new();
    for pair in SHARED {
        let consumer = Consumer::new(recorder.clone(), id, pair, false)?.until(stop.clone());
        pullers.push(tokio::spawn(ignore(consumer.run())));
    }
    Ok((publishers, pullers))
}

async fn ignore(task: impl Future<Output = Result<()>>) {
    let _ = task.await;
}

/// Observes every voter and the member every [`SAMPLE`] until aborted.
fn sampler(recorder: Arc<Recorder>, everyone: Vec<u64>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            observe_all(&recorder, &everyone).await;
            tokio::time::sleep(SAMPLE).await;
        }
    })
}

/// One scale-out and scale-in of `step` (its node is the member's id),
/// recorded as the `member` fault's start and stop; the stop's `error` says
/// what went wrong with the exit, if anything.
pub async fn cycle(
    net: &Net,
    procs: &Mutex<Procs>,
    recorder: &Arc<Recorder>,
    step: &Step,
) -> Result<()> {
    let id = step.node.context("a member step names the member's id")?;
    let voters: Vec<u64> = (1..id).collect();
    let mut everyone = voters.clone();
    everyone.push(id);
    let cycle = CYCLES.fetch_add(1, Ordering::Relaxed) + 1;
    let begin = Instant::now();
    nemesis_event(recorder, Op::Start, id, None);
    net.attach_extra(id)?;
    let advertise = format!("{}:{PEER_PORT}", net::address(id));
    with_procs(procs, |p| {
        p.start_with(id, &[("PUBSUB_ADVERTISE_ADDR".to_owned(), advertise)])
    })?;

    let mut clients_of_member = Vec::new();
    let mut pullers = Vec::new();
    let pullers_stop = Arc::new(AtomicBool::new(false));
    let deadline = begin + JOIN_BOUND;
    loop {
        let views = observe_all(recorder, &everyone).await;
        let member_view = views.last().cloned().flatten();
        if member_view.is_some() && clients_of_member.is_empty() {
            (clients_of_member, pullers) = clients(recorder, id, cycle, &pullers_stop)?;
        }
        let joined = views[..voters.len()]
            .iter()
            .flatten()
            .any(|v| v.learners.contains(&id));
        let owns = views.iter().flatten().any(|v| v.owned_by(id) > 0);
        let exited = with_procs(procs, |p| p.try_exit(id))?.0;
        if (joined && owns) || exited || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }

    let sampling = sampler(recorder.clone(), everyone);
    tokio::time::sleep(Duration::from_millis(step.duration_ms)).await;
    sampling.abort();
    let _ = sampling.await;
    // The pullers stop before the scale-in, as a client told of the drain
    // would: one whose ack the draining member refused would hold its
    // messages' leases for the whole ack deadline (10 s), and an ordered
    // key's next messages behind them. The publishers go on through the
    // drain.
    pullers_stop.store(true, Ordering::Relaxed);
    for puller in pullers {
        let abort = puller.abort_handle();
        if tokio::time::timeout(PULLERS_BOUND, puller).await.is_err() {
            abort.abort();
        }
    }

    let error = scale_in(procs, recorder, id, &voters, &mut clients_of_member).await?;
    nemesis_event(recorder, Op::Stop, id, error);
    for task in clients_of_member {
        task.abort();
    }
    Ok(())
}

/// SIGTERM, then waits for the exit and for every voter to have forgotten
/// the member with every partition on a live voter; returns what went
/// wrong with the exit. The member's clients stop once it has exited.
async fn scale_in(
    procs: &Mutex<Procs>,
    recorder: &Arc<Recorder>,
    id: u64,
    voters: &[u64],
    clients_of_member: &mut Vec<JoinHandle<()>>,
) -> Result<Option<String>> {
    let (already, _) = with_procs(procs, |p| p.try_exit(id))?;
    if already {
        return Ok(Some("the member had exited before SIGTERM".to_owned()));
    }
    with_procs(procs, |p| p.signal(id, "TERM"))?;
    let sent = Instant::now();
    let mut exit = None;
    loop {
        if exit.is_none() {
            let (exited, status) = with_procs(procs, |p| p.try_exit(id))?;
            if exited {
                exit = Some(status);
                for task in clients_of_member.drain(..) {
                    task.abort();
                }
            }
        }
        let views = observe_all(recorder, voters).await;
        let gone = views.iter().all(|v| {
            v.as_ref()
                .is_some_and(|v| !v.knows(id) && v.misplaced(id).is_empty())
        });
        if exit.is_some() && gone {
            break;
        }
        if sent.elapsed() > LEAVE_BOUND {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(match exit {
        None => {
            with_procs(procs, |p| p.signal(id, "KILL"))?;
            Some(format!(
                "did not exit within {} s of SIGTERM (killed)",
                LEAVE_BOUND.as_secs()
            ))
        }
        Some(Some(status)) if !status.success() => Some(format!("exited with {status}")),
        Some(_) => None,
    })
}

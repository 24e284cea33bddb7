//! The metadata register workload: two workers create, read and delete
//! topics of a few shared names (`m-0` … `m-2`), each write followed at once
//! by a read through another node, so an answer from a node that has not
//! applied what another committed shows as a stale one.
//! `linearizable-metadata` checks the history.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use api::types::{AckLevel, CreateTopicRequest};

use crate::history::{Event, Kind, Op};
use crate::recorder::{Recorder, classify, describe};
use crate::workload::client;

/// The register names, shared by every worker.
pub const NAMES: [&str; 3] = ["m-0", "m-1", "m-2"];
/// Time between one worker's steps.
const PACE: Duration = Duration::from_millis(150);

/// Worker `worker` of `nodes` nodes, until publishing stops. Each step
/// creates or deletes a name through one node (creates and deletes take
/// turns per name) and at once reads it through the next node.
pub async fn churn(recorder: Arc<Recorder>, worker: u64, nodes: u64) -> Result<()> {
    let mut n: u64 = 0;
    while recorder.publishing() {
        let names = NAMES.len() as u64;
        let name = NAMES[(n % names) as usize];
        let write = if (n / names).is_multiple_of(2) {
            Op::Create
        } else {
            Op::Delete
        };
        let node = (worker + n) % nodes + 1;
        n += 1;
        call(&recorder, write, name, node).await?;
        call(&recorder, Op::Read, name, node % nodes + 1).await?;
        tokio::time::sleep(PACE).await;
    }
    Ok(())
}

/// One recorded operation `f` on topic `name` through `node`.
async fn call(recorder: &Recorder, f: Op, name: &str, node: u64) -> Result<()> {
    let mut invoke = Event::new(0, recorder.process(), Kind::Invoke, f);
    invoke.node = Some(node);
    invoke.topic = Some(name.to_owned());
    let invoke = recorder.record(invoke);
    let client = client(node)?;
    let answer = match f {
        Op::Create => {
            let request = CreateTopicRequest {
                partitions: Some(1),
                ack_level: Some(AckLevel::Leader),
                ..Default::default()
            };
            client.create_topic(name, &request).await.map(drop)
        }
        Op::Delete => client.delete_topic(name).await.map(drop),
        _ => client.get_topic(name).await.map(drop),
    };
    match answer {
        Ok(()) => {
            recorder.record(invoke.completed(0, Kind::Ok));
        }
        Err(error) => {
            let mut done = invoke.completed(0, classify(&error));
            done.error = Some(describe(&error));
            recorder.record(done);
        }
    }
    Ok(())
}

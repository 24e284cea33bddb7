//! Cluster observations: `GET /v1/cluster` through one node, recorded as a
//! `cluster` operation whose `ok` carries the [`ClusterView`], so the
//! membership checks read them from the history like every other check.

use std::time::Duration;

use api::Client;

use crate::cluster_view::ClusterView;
use crate::history::{Event, Kind, Op};
use crate::net;
use crate::procs::CLIENT_PORT;
use crate::recorder::{Recorder, classify, describe};

/// How long one observation may take: short, so a cut-off or stopping node
/// does not hold up the round.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Asks `node` for its view of the cluster and records the operation;
/// returns the view, or `None` when the node did not answer.
pub async fn observe(recorder: &Recorder, node: u64) -> Option<ClusterView> {
    let mut invoke = Event::new(0, recorder.process(), Kind::Invoke, Op::Cluster);
    invoke.node = Some(node);
    let invoke = recorder.record(invoke);
    let url = format!("http://{}:{CLIENT_PORT}", net::address(node));
    let answer = match Client::new(&url, TIMEOUT) {
        Ok(client) => client.cluster_status().await,
        Err(error) => Err(error),
    };
    match answer {
        Ok(status) => {
            let view = ClusterView::from(&status);
            let mut done = invoke.completed(0, Kind::Ok);
            done.cluster = Some(view.clone());
            recorder.record(done);
            Some(view)
        }
        Err(error) => {
            let mut done = invoke.completed(0, classify(&error));
            done.error = Some(describe(&error));
            recorder.record(done);
            None
        }
    }
}

/// One round: every node of `nodes` asked in turn; the views in that order.
pub async fn observe_all(recorder: &Recorder, nodes: &[u64]) -> Vec<Option<ClusterView>> {
    let mut views = Vec::with_capacity(nodes.len());
    for &node in nodes {
        views.push(observe(recorder, node).await);
    }
    views
}

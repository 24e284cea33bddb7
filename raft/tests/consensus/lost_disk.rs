//! A node with an empty log (a lost data dir) never votes in an established
//! group: its forgotten vote could count twice in one term; and a voter that
//! lost its disk rejoins as a learner first.

use std::time::Duration;

use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::VoteRequest;
use raft::peer::client::PeerNetwork;
use raft::types::{Peer, TypeConfig, Vote};

use cluster::Command;

use crate::harness::{TestCluster, WAIT, id, ids};

#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_node_with_an_empty_log_votes_only_for_a_forming_group() -> anyhow::Result<()> {
    tracing::info!("--- arrange: a pristine node, and a candidate's network to it");
    let mut cluster = TestCluster::start(1, 100).await?;
    let addr = cluster.start_outsider(id(7)).await?;
    raft::install_crypto_provider();
    let http = raft::peer::transport::PeerHttp::new(None, None)?;
    let mut network = PeerNetwork::new(id(9), http);
    let mut to_pristine = network.new_client(id(7), &Peer { addr }).await;
    let option = || RPCOption::new(Duration::from_secs(5));

    tracing::info!("--- act and assert: a candidate with an established log is refused");
    let established = VoteRequest::new(
        Vote::new(5, id(9)),
        Some(openraft::testing::log_id::<TypeConfig>(4, id(9), 12)),
    );
    let refused = to_pristine.vote(established, option()).await;
    assert!(refused.is_err(), "an empty log voted: {refused:?}");
    assert!(
        cluster.node(id(7)).metrics().term < 5,
        "the refused request still moved the term"
    );

    tracing::info!("--- a candidate holding only the initial membership gets the vote");
    let forming = VoteRequest::new(
        Vote::new(1, id(9)),
        Some(openraft::testing::log_id::<TypeConfig>(0, id(9), 0)),
    );
    let granted = to_pristine.vote(forming, option()).await?;
    assert!(granted.is_granted_to(&Vote::new(1, id(9))), "{granted:?}");
    cluster.shutdown().await;
    Ok(())
}

/// A registered voter (it had state) that comes back with an empty data dir
/// is made a learner by the leader, caught up, and promoted again: the
/// membership changes, and ends with the same voters.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_registered_voter_that_lost_its_disk_rejoins_as_a_learner_first() -> anyhow::Result<()> {
    tracing::info!("--- arrange: three registered voters");
    let mut cluster = TestCluster::start(3, 100).await?;
    let leader = cluster.agreed_leader().await?;
    for n in 1..=3 {
        cluster
            .node(leader)
            .propose(Command::RegisterNode {
                id: id(n),
                peer_addr: format!("node-{n}:8082"),
            })
            .await?;
    }
    let lost = cluster.follower(leader);
    let before = cluster.node(leader).metrics();

    tracing::info!(%lost, "--- act: a follower stops, loses its disk, starts again");
    cluster.stop(lost).await;
    cluster.wipe(lost)?;
    let node = cluster.restart(lost).await?.clone();
    let m = node
        .wait_until(WAIT, |m| {
            m.voters == ids([1, 2, 3]) && m.applied_index >= before.commit_index
        })
        .await?;

    tracing::info!(?m, "--- assert: it was demoted and promoted again");
    let leader = cluster.agreed_leader().await?;
    let after = cluster
        .node(leader)
        .wait_until(WAIT, |m| {
            m.voters == ids([1, 2, 3]) && m.membership_index > before.membership_index
        })
        .await?;
    assert!(after.learners.is_empty(), "{after:?}");
    let registered = node.read(|md| md.placement().node(lost).is_some()).await?;
    assert!(registered, "the metadata came back");
    cluster.shutdown().await;
    Ok(())
}

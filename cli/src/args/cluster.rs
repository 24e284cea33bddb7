//! `cluster status|rebalance|remove-node`: the metadata group, its nodes and
//! partition owners.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show the metadata group as the server sees it (role, leader, term, log
    /// indexes, voters), then its nodes. Exits 10 when it is unhealthy: no
    /// leader, behind the leader, or a node is not live.
    Status(StatusArgs),
    /// Move every partition to its rendezvous owner over the live nodes, e.g.
    /// after a node joined. Prints each move and how many partitions moved.
    Rebalance(RebalanceArgs),
    /// Forget a node before scaling it away; its partitions move to the live
    /// nodes. Prints each move.
    RemoveNode(RemoveNodeArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Also list each partition's owner and epoch (`--format json` always does).
    #[arg(long)]
    pub owners: bool,
}

#[derive(Debug, Args)]
pub struct RebalanceArgs {
    /// Print what would move, and move nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RemoveNodeArgs {
    /// The node's id, as `cluster status` lists it.
    pub id: u64,
}
